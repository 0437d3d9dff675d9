"""Training throughput on this machine: images per second of a training update at batch 128 for
LeNet-5, AlexNet, VGG-11-BN, ResNet-18 and DenseNet-121 (small-input forms), in the precision
``--precision auto`` picks here against float32, side by side; and what share of the machine's
own matrix-multiply peak (measured here, float32 and bfloat16) each reaches.

The machine is shared and noisy, so every comparison is interleaved: A B A B ... for
``--pairs`` pairs, each a timed run of ``--steps`` updates after a warm-up; the medians and the
range of the per-pair ratios are reported. The training FLOPs of an update are taken as three
times the forward MACs x 2 (forward, and a backward twice as costly), the usual estimate.

Run: python benchmarks/throughput.py   (a few minutes; no dataset needed)
Writes benchmarks/results/throughput.json and .md and prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from _machine import machine
from _report import throughput as markdown

import classicnets as cn
from classicnets.train.precision import resolve_precision

RESULTS = Path(__file__).parent / "results"
MODELS = (  # name, channels, side: the small-input settings the zoo trains at
    ("lenet5_relu", 1, 28),
    ("alexnet", 3, 96),
    ("vgg11_bn", 3, 32),
    ("resnet18", 3, 32),
    ("densenet121", 3, 32),
)


def matmul_peak(dtype: torch.dtype, sizes=(1024, 2048, 4096), repeats: int = 5) -> float:
    """FLOP/s of the fastest square matrix product on the CPU, over a few sizes (the best of
    ``repeats`` each): the machine's practical peak for that number format."""
    best = 0.0
    for size in sizes:
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        a @ b  # warm-up
        for _ in range(repeats):
            began = time.perf_counter()
            a @ b
            best = max(best, 2 * size**3 / (time.perf_counter() - began))
    return best


def trainer(name: str, channels: int, side: int, precision: str, channels_last: bool):
    module = cn.create_model(name, num_classes=10, in_channels=channels, image_size=side, seed=0)
    model = cn.Model(module, device="cpu")
    return model.compile(
        optimizer="momentum", lr=0.01, precision=precision, channels_last=channels_last
    )


def images_per_second(model, batch: tuple, steps: int) -> float:
    model.train_step(batch)  # warm-up
    began = time.perf_counter()
    for _ in range(steps):
        model.train_step(batch)
    return steps * len(batch[1]) / (time.perf_counter() - began)


def measure(name, channels, side, args, chosen) -> dict:
    x = torch.randint(0, 256, (args.batch_size, channels, side, side), dtype=torch.uint8)
    y = torch.randint(0, 10, (args.batch_size,))
    default = trainer(name, channels, side, chosen.name, chosen.channels_last)
    fp32 = trainer(name, channels, side, "fp32", False)
    steps = args.steps if name != "lenet5_relu" else args.steps * 20  # LeNet: ms per update
    batches = {id(m): m.prepare_batch((x, y)) for m in (default, fp32)}
    rates: dict[str, list[float]] = {"default": [], "fp32": []}
    for _ in range(args.pairs):  # A B A B ...: the machine's drift hits both alike
        rates["default"].append(images_per_second(default, batches[id(default)], steps))
        rates["fp32"].append(images_per_second(fp32, batches[id(fp32)], steps))
    ratios = [a / b for a, b in zip(rates["default"], rates["fp32"], strict=True)]
    macs = cn.summary(name, (channels, side, side), num_classes=10).total_macs
    flops = 3 * 2 * macs  # per image: forward, and a backward about twice its cost
    median = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "model": name,
        "input": [channels, side, side],
        "macs_per_image": macs,
        "images_per_second": {k: round(v, 1) for k, v in median.items()},
        "all_images_per_second": {k: [round(r, 1) for r in v] for k, v in rates.items()},
        "ratio_default_over_fp32": {
            "median": round(statistics.median(ratios), 3),
            "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
        },
        "share_of_fp32_matmul_peak": {
            k: round(v * flops / args.peaks["fp32"], 3) for k, v in median.items()
        },
        "share_of_bf16_matmul_peak_default": round(
            median["default"] * flops / args.peaks["bf16"], 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="timed updates per run")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=[m[0] for m in MODELS])
    parser.add_argument("--out", default=str(RESULTS / "throughput.json"))
    args = parser.parse_args()
    args.peaks = {
        "fp32": matmul_peak(torch.float32),
        "bf16": matmul_peak(torch.bfloat16),
    }
    chosen = resolve_precision("auto", torch.device("cpu"))
    print(f"default precision: {chosen.describe()}")
    print(f"matmul peak: fp32 {args.peaks['fp32'] / 1e9:.1f} GFLOP/s, bf16 "
          f"{args.peaks['bf16'] / 1e9:.1f} GFLOP/s")  # fmt: skip
    rows = []
    for name, channels, side in MODELS:
        if name not in args.models:
            continue
        rows.append(measure(name, channels, side, args, chosen))
        row = rows[-1]
        print(
            f"{name:12s} default {row['images_per_second']['default']:8.1f} img/s  fp32 "
            f"{row['images_per_second']['fp32']:8.1f}  ratio {row['ratio_default_over_fp32']}  "
            f"fp32 peak share {row['share_of_fp32_matmul_peak']}",
            flush=True,
        )
    result = {
        "benchmark": "throughput",
        "command": "python benchmarks/throughput.py",
        "settings": {"batch_size": args.batch_size, "steps": args.steps, "pairs": args.pairs},
        "default_precision": chosen.describe(),
        "matmul_peak_flops": {k: round(v) for k, v in args.peaks.items()},
        "machine": machine(),
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(result))


if __name__ == "__main__":
    main()
