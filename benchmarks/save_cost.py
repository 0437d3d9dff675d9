"""What saving ``last`` within epochs costs: the time of one checkpoint write (weights,
optimizer state, random streams, checksum; atomic) beside the time of a training update, for
small and large models, and the share of training time the default ``--save-every auto`` spends
writing (at most once a minute, and only while all writing stays within 2 % of the time trained:
for a long run, one write every max(60 s + a write, 50 writes)).

Run: python benchmarks/save_cost.py   (about a minute; no dataset needed)
Writes benchmarks/results/save_cost.json.
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

import classicnets as cn
from classicnets.train.saving import AUTO_BUDGET, AUTO_SECONDS

RESULTS = Path(__file__).parent / "results"
MODELS = (  # (name, channels, image side): each model's usual small-input setting
    ("lenet5_relu", 1, 28),
    ("resnet18", 3, 32),
    ("vgg16_bn", 3, 32),
    ("densenet121", 3, 32),
)


def measure(name: str, channels: int, size: int, batch: int, repeats: int) -> dict:
    module = cn.create_model(name, num_classes=10, in_channels=channels, image_size=size, seed=0)
    model = cn.Model(module, device="cpu").compile(optimizer="momentum", lr=0.01)
    x = torch.randint(0, 256, (batch * 3, channels, size, size), dtype=torch.uint8)
    y = torch.randint(0, 10, (batch * 3,))
    model.fit(x, y, epochs=1, batch_size=batch)  # warm-up; fills the momentum buffers
    steps = []
    batch_x = model.prepare_inputs(x[:batch])
    for _ in range(repeats):
        began = time.perf_counter()
        model.train_step((batch_x, y[:batch]))
        steps.append(time.perf_counter() - began)
    writes = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            began = time.perf_counter()
            model.save(Path(folder) / "last")
            writes.append(time.perf_counter() - began)
        size_mb = (Path(folder) / "last.safetensors").stat().st_size / 1e6
    write, step = statistics.median(writes), statistics.median(steps)
    interval = max(AUTO_SECONDS + write, write / AUTO_BUDGET)  # in a long run
    return {
        "model": name,
        "input": [channels, size, size],
        "params": sum(p.numel() for p in module.parameters()),
        "checkpoint_mb": round(size_mb, 1),
        "write_seconds": round(write, 3),
        "update_seconds": round(step, 4),
        "auto_interval_seconds": round(interval, 1),
        "auto_share_of_training": round(write / interval, 5),
        "writes_ms": [round(w * 1000, 1) for w in writes],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "save_cost.json"))
    args = parser.parse_args()
    rows = []
    for name, channels, size in MODELS:
        rows.append(measure(name, channels, size, args.batch_size, args.repeats))
        row = rows[-1]
        print(
            f"{name:12s} {row['checkpoint_mb']:7.1f} MB  write {row['write_seconds']:.3f} s  "
            f"update {row['update_seconds']:.4f} s  auto: every {row['auto_interval_seconds']} s "
            f"= {100 * row['auto_share_of_training']:.2f} % of training"
        )
    result = {
        "benchmark": "save_cost",
        "command": "python benchmarks/save_cost.py",
        "settings": vars(args) | {"out": None},
        "machine": machine(),
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
