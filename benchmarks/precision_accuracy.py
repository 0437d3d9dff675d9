"""Does the default precision cost accuracy? The same runs in float32 and in what
``--precision auto`` picks on this machine, same seeds (3 each): LeNet-5 on MNIST (its recipe),
ResNet-18 on CIFAR-10 (its recipe, on the first 10,000 training images for 2 epochs so that the
six runs fit in minutes), and char_lstm on the first 300,000 characters of tinyshakespeare.
Every run goes through the run pipeline; the number compared is its test score, measured once
at the end (accuracy; a language model's loss in nats per character).

Run: CLASSICNETS_DATA=../shared/data python benchmarks/precision_accuracy.py
Writes benchmarks/results/precision_accuracy.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _machine import machine
from _report import precision_accuracy as markdown

from classicnets.runs import ImageRunConfig, TextRunConfig, train
from classicnets.train.precision import resolve_precision

RESULTS = Path(__file__).parent / "results"
CASES = {
    "lenet5_relu/mnist": (ImageRunConfig, {"model": "lenet5_relu", "data": "mnist"}, "accuracy"),
    "resnet18/cifar10": (
        ImageRunConfig,
        {"model": "resnet18", "data": "cifar10", "limit": 10_000, "epochs": 2},
        "accuracy",
    ),
    "char_lstm/tinyshakespeare": (
        TextRunConfig,
        {"model": "char_lstm", "data": "tinyshakespeare", "max_chars": 300_000, "epochs": 3,
         "seq_len": 64, "hidden": 256, "layers": 2},
        "loss",
    ),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "precision_accuracy.json"))
    args = parser.parse_args()
    auto = resolve_precision("auto", torch.device("cpu"))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            cls, settings, metric = CASES[case]
            scores: dict[str, list[float]] = {"fp32": [], "auto": []}
            seconds: dict[str, list[float]] = {"fp32": [], "auto": []}
            for seed in range(args.seeds):
                for precision in ("fp32", "auto"):  # interleaved, seed by seed
                    out = Path(folder) / f"{case.replace('/', '-')}-{precision}-{seed}"
                    config = cls(
                        **settings, seed=seed, precision=precision, out=str(out),
                        save_every="epoch",
                    )  # fmt: skip
                    result = train(config, progress=False)
                    scores[precision].append(result.test[metric])
                    seconds[precision].append(result.seconds)
                    score = result.test[metric]
                    print(f"{case} seed {seed} {precision}: test {metric} {score:.4f} in "
                          f"{result.seconds:.0f} s", flush=True)  # fmt: skip
            mean = {k: statistics.mean(v) for k, v in scores.items()}
            spread = {k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in scores.items()}
            rows.append(
                {
                    "case": case,
                    "metric": f"test {metric}",
                    "scores": scores,
                    "mean": mean,
                    "stdev": spread,
                    "difference_auto_minus_fp32": mean["auto"] - mean["fp32"],
                    "seconds": {k: [round(s, 1) for s in v] for k, v in seconds.items()},
                    "speedup_auto_over_fp32": statistics.mean(seconds["fp32"])
                    / statistics.mean(seconds["auto"]),
                }
            )
    result = {
        "benchmark": "precision_accuracy",
        "command": "python benchmarks/precision_accuracy.py",
        "auto_here": auto.describe(),
        "machine": machine(),
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(result))


if __name__ == "__main__":
    main()
