"""The efficiency frontier: every registered image model at its CIFAR-10 form (3x32x32, or its
smallest input), its parameters, MACs, inference latency at batch 1 and throughput at batch 128
on this CPU. Accuracy after a fixed training budget per model is ``frontier_accuracy.py``'s.

Latency and throughput use the precision ``auto`` picks (bfloat16 + channels-last where the CPU
has it), in eval mode without gradients: the median of ``--repeats`` timed calls after a
warm-up. The plot puts throughput against MACs, the marker's area the parameters, the
light-weight families in colour.

Run: python benchmarks/frontier.py
Writes benchmarks/results/frontier.json, .md and .png.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from _machine import machine

import classicnets as cn
from classicnets.models import list_models, model_info
from classicnets.train.precision import DTYPES, resolve_precision

RESULTS = Path(__file__).parent / "results"
LIGHT = {"SqueezeNet", "MobileNet", "ShuffleNet", "GhostNet", "EfficientNet"}


def timed(module, x: torch.Tensor, repeats: int) -> float:
    module(x)  # warm-up
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        module(x)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def speed(name: str, size: int, repeats: int, precision) -> dict:
    module = cn.create_model(name, num_classes=10, in_channels=3, image_size=size, seed=0).eval()
    layout = torch.channels_last if precision.channels_last else torch.contiguous_format
    module = module.to(memory_format=layout)
    dtype = DTYPES.get(precision.name)
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
        one = torch.randn(1, 3, size, size).to(memory_format=layout)
        batch = torch.randn(128, 3, size, size).to(memory_format=layout)
        latency = timed(module, one, repeats)
        throughput = 128 / timed(module, batch, max(1, repeats // 4))
    return {"latency_ms": round(latency * 1e3, 2), "images_per_second": round(throughput, 1)}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    key = "images_per_second"
    for light in (False, True):
        part = [r for r in rows if (r["family"] in LIGHT) == light and r.get(key) is not None]
        ax.scatter(
            [r["macs"] / 1e6 for r in part],
            [r[key] for r in part],
            s=[max(8, r["params"] / 2e5) for r in part],
            alpha=0.6,
            color="tab:orange" if light else "tab:blue",
            label="light-weight nets" if light else "the others",
        )
        for r in part:
            ax.annotate(r["model"], (r["macs"] / 1e6, r[key]), fontsize=6, alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per 32x32 image (millions, log)")
    ax.set_ylabel("inference images/s at batch 128 (log)")
    ax.set_title("Every image model at its CIFAR-10 form (marker area: parameters)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(result: dict) -> str:
    lines = [
        "# The efficiency frontier at the CIFAR-10 form",
        "",
        f"Precision: {result['precision']}. Latency: batch 1; throughput: batch 128; inference "
        "in eval mode, the median of timed calls after a warm-up. Accuracy after a fixed budget: "
        "frontier_accuracy.md.",
        "",
        "| model | family | px | parameters | MACs | latency ms | images/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['family']} | {r['image_size']} | {r['params']:,} | "
            f"{r['macs'] / 1e6:,.1f} M | {r['latency_ms']} | {r['images_per_second']:,.0f} |"
        )
    m = result["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores; torch {m['torch']}. Run on "
              f"{result['date']} with `{result['command']}`.", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--out", default=str(RESULTS / "frontier.json"))
    args = parser.parse_args()
    precision = resolve_precision("auto", torch.device("cpu"))
    names = args.models or [n for n in list_models() if "sequence" not in model_info(n).tags]
    rows = []
    for name in names:
        info = model_info(name)
        size = max(32, info.min_image_size)
        row = {
            "model": name,
            "family": info.family,
            "year": info.year,
            "image_size": size,
            "params": cn.summary(name, (3, size, size), num_classes=10).total_params,
            "macs": cn.summary(name, (3, size, size), num_classes=10).total_macs,
            **speed(name, size, args.repeats, precision),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    command = "python benchmarks/frontier.py"
    result = {
        "benchmark": "frontier",
        "command": command,
        "settings": {"repeats": args.repeats},
        "precision": precision.describe(),
        "machine": machine(),
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    plot(rows, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
