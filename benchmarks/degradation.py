"""ResNet's degradation experiment in small (He et al. 2015, Fig. 6): plain-20 and plain-56
against ResNet-20 and ResNet-56 on CIFAR-10, the same recipe and the same number of epochs.

The paper's finding: without shortcuts the deeper net has the HIGHER training error (plain-56
above plain-20: degradation, not overfitting), and with them the deeper net is better
(ResNet-56 below ResNet-20). The paper trains 64k iterations (~164 epochs); a 2-core CPU runs
a few epochs, so the script reports what those epochs show and says whether the two orderings
appear, without extrapolating.

Every net trains through the run pipeline on 45,000 images (a fixed, stratified 5,000 are the
validation split) with the paper's optimizer (SGD, momentum 0.9, weight decay 1e-4, batch 128,
crop + flip), its rate 0.1 laid as a one-cycle schedule over the epochs; training error is the
epoch's mean over its batches (augmented, as the paper's thin curves), and the test split is
scored once at the end.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/degradation.py [--epochs 3]
Writes benchmarks/results/degradation.json and .md. ``--nets`` trains a subset, for a longer run
of two (on a 2-core CPU ten epochs of ResNet-20 and ResNet-56 take about 40 minutes):
    python benchmarks/degradation.py --epochs 10 --nets resnet20,resnet56 \
        --out benchmarks/results/degradation_10epochs.json
    python benchmarks/degradation.py --epochs 10 --nets plain20,plain56 \
        --out benchmarks/results/degradation_10epochs.json
Rows of the nets not run are kept from an earlier result at ``--out`` with the same epochs,
limit and seed, so a second run of the other two judges all four; each row names its command,
CPU and date. Only the orderings whose two nets both have rows are judged.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from _machine import machine

from classicnets.runs import ImageRunConfig, train

RESULTS = Path(__file__).parent / "results"
NETS = ("plain20", "plain56", "resnet20", "resnet56")
# each of Fig. 6's orderings: (deeper net, the net it is compared with, whether the deeper wins)
ORDERINGS = {
    "degradation": ("plain56", "plain20", False),
    "residual_helps": ("resnet56", "resnet20", True),
    "shortcuts_fix_the_deep_net": ("resnet56", "plain56", True),
}


def run(name: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        config = ImageRunConfig(
            model=name,
            data="cifar10",
            epochs=args.epochs,
            batch_size=128,
            optimizer="momentum",
            lr=0.1,
            momentum=0.9,
            weight_decay=1e-4,
            schedule="onecycle",
            augment="crop,flip",
            limit=args.limit,
            seed=args.seed,
            out=str(out),
        )
        result = train(config, progress=False)
        with open(out / "metrics.csv") as f:
            epochs = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    return {
        "model": name,
        "train_error": [round(1 - e["accuracy"], 4) for e in epochs],
        "val_error": [round(1 - e["val_accuracy"], 4) for e in epochs],
        "test_error": round(1 - result.test["accuracy"], 4),
        "seconds": round(result.seconds, 1),
    }


def findings(rows: dict) -> tuple[dict, str]:
    """Which of the paper's orderings the last epoch's training errors show, and a verdict."""
    last = {name: r["train_error"][-1] for name, r in rows.items()}
    found = {
        ordering: last[deep] < last[other] if deep_wins else last[deep] > last[other]
        for ordering, (deep, other, deep_wins) in ORDERINGS.items()
        if deep in last and other in last
    }
    if not found:
        verdict = "No ordering judged: each compares two nets, and no such pair has rows here."
    elif all(found.values()):
        verdict = (
            "Every ordering of the paper's Fig. 6 shows after these epochs."
            if len(found) == len(ORDERINGS)
            else f"Shown after these epochs: {', '.join(k.replace('_', ' ') for k in found)}."
        )
    else:
        missing = [k.replace("_", " ") for k, v in found.items() if not v]
        verdict = (
            f"Not shown after these epochs: {', '.join(missing)}. The paper's curves separate "
            "over ~164 epochs; this budget is too short to say more about those."
        )
    return found, verdict


SAYS = {
    "degradation": "plain-56 trains worse than plain-20 (degradation)",
    "residual_helps": "ResNet-56 trains better than ResNet-20",
    "shortcuts_fix_the_deep_net": "ResNet-56 trains better than plain-56",
}


def markdown(result: dict) -> str:
    rows = result["rows"]
    lines = [
        "# ResNet's degradation experiment in small (He et al. 2015, Fig. 6)",
        "",
        f"CIFAR-10, {result['settings']['epochs']} epochs each, the same recipe "
        "(SGD momentum 0.9, one-cycle to 0.1, weight decay 1e-4, batch 128, crop + flip); "
        "errors are 1 − accuracy.",
        "",
        "| net | training error per epoch | validation error per epoch | test error | seconds |",
        "|---|---|---|---:|---:|",
    ]
    for r in rows.values():
        lines.append(
            f"| {r['model']} | {' / '.join(f'{e:.3f}' for e in r['train_error'])} | "
            f"{' / '.join(f'{e:.3f}' for e in r['val_error'])} | {r['test_error']:.3f} | "
            f"{r['seconds']:.0f} |"
        )
    found = result["found"]
    lines.append("")
    for ordering, words in SAYS.items():
        if ordering in found:
            lines.append(f"- {words}: **{found[ordering]}**")
    lines += [
        "",
        result["verdict"],
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; torch "
        f"{result['machine']['torch']}. Run on {result['date']} with `{result['command']}`.",
    ]
    earlier = {
        (r["command"], r["cpu"], r["date"])
        for r in rows.values()
        if "command" in r and r["command"] != result["command"]
    }
    for command, cpu, date in sorted(earlier):
        lines.append(f"Rows kept from an earlier run on {date} ({cpu}): `{command}`.")
    lines.append("")
    return "\n".join(lines)


def kept_rows(out: Path, settings: dict, nets: list[str]) -> dict:
    """The rows of the nets not run this time from an earlier result at ``out`` with the same
    epochs, limit and seed (a run of two nets, then of the other two, judges all four)."""
    if not out.is_file():
        return {}
    earlier = json.loads(out.read_text())
    if {k: earlier["settings"].get(k) for k in settings} != settings:
        print(f"{out}: its rows were trained with other settings; they are not kept", flush=True)
        return {}
    return {name: row for name, row in earlier["rows"].items() if name not in nets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="first N images (a smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--nets",
        default=",".join(NETS),
        help="comma-separated subset of the four nets (a longer run of two, say)",
    )
    parser.add_argument("--out", default=str(RESULTS / "degradation.json"))
    args = parser.parse_args()
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    unknown = sorted(set(nets) - set(NETS))
    if unknown or not nets:
        parser.error(f"--nets takes names from {', '.join(NETS)}; got {args.nets!r}")
    settings = {"epochs": args.epochs, "limit": args.limit, "seed": args.seed}
    kept = kept_rows(Path(args.out), settings, nets)
    command = (
        "python benchmarks/degradation.py"
        + (f" --epochs {args.epochs}" if args.epochs != 3 else "")
        + (f" --limit {args.limit}" if args.limit else "")
        + (f" --nets {','.join(nets)}" if tuple(nets) != NETS else "")
        + (f" --out {args.out}" if Path(args.out) != RESULTS / "degradation.json" else "")
    )
    here, done = machine(), {}
    for name in nets:
        done[name] = run(name, args)
        done[name].update(command=command, cpu=here["cpu"], date=time.strftime("%Y-%m-%d"))
        print(f"{name}: {done[name]}", flush=True)
    rows = {name: done.get(name) or kept[name] for name in NETS if name in done or name in kept}
    found, verdict = findings(rows)
    result = {
        "benchmark": "degradation",
        "command": command,
        "settings": {**settings, "nets": list(rows)},
        "machine": here,
        "rows": rows,
        "found": found,
        "verdict": verdict,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(result))
    print(verdict)


if __name__ == "__main__":
    main()
