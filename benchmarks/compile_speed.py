"""Is ``--compile`` worth turning on by default? Whole runs, compile time included.

Each case is a run of the command line's pipeline with its recipe, once eager and once with
``--compile`` (``torch.compile`` of the model: inductor, C++ kernels), interleaved for
``--pairs`` rounds; the wall seconds of the whole run (loading, compiling, training, the test)
and its test accuracy are recorded, and the ratio eager / compiled per round (above 1: compiled
is faster). ``--compile`` stays off by default unless every case's median ratio is above 1.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/compile_speed.py
Writes benchmarks/results/compile_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _machine import machine
from _report import compile_speed as markdown

from classicnets.runs import ImageRunConfig, train

RESULTS = Path(__file__).parent / "results"
CASES = {  # name: the run's settings (the rest from the recipe)
    "lenet5_relu/mnist": {"model": "lenet5_relu", "data": "mnist"},
    "resnet18/fashion-mnist, 1 epoch of 6,000": {
        "model": "resnet18",
        "data": "fashion-mnist",
        "limit": 6000,
        "epochs": 1,
    },
}


def run(settings: dict, compiled: bool, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        config = ImageRunConfig(
            **settings, compile=compiled, seed=seed, out=str(Path(folder) / "run")
        )
        began = time.perf_counter()
        result = train(config, progress=False)
        return {
            "seconds": round(time.perf_counter() - began, 2),
            "test_accuracy": result.test["accuracy"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "compile_speed.json"))
    args = parser.parse_args()
    rows = []
    for case, settings in CASES.items():
        runs: dict[str, list[dict]] = {"eager": [], "compiled": []}
        for _ in range(args.pairs):  # eager, compiled, eager, compiled, ...
            runs["eager"].append(run(settings, False, args.seed))
            runs["compiled"].append(run(settings, True, args.seed))
            print(f"{case}: eager {runs['eager'][-1]}  compiled {runs['compiled'][-1]}",
                  flush=True)  # fmt: skip
        pairs = zip(runs["eager"], runs["compiled"], strict=True)
        ratios = [e["seconds"] / c["seconds"] for e, c in pairs]
        rows.append({
            "case": case,
            "settings": settings,
            "runs": runs,
            "eager_over_compiled": {
                "median": round(statistics.median(ratios), 3),
                "min": round(min(ratios), 3),
                "max": round(max(ratios), 3),
            },
        })  # fmt: skip
    result = {
        "benchmark": "compile_speed",
        "command": "python benchmarks/compile_speed.py",
        "settings": {"pairs": args.pairs, "seed": args.seed},
        "machine": machine(),
        "rows": rows,
        "compile_by_default": all(r["eager_over_compiled"]["median"] > 1 for r in rows),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(result))
    for r in rows:
        print(f"{r['case']}: eager / compiled {r['eager_over_compiled']}")


if __name__ == "__main__":
    main()
