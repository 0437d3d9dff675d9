"""Augmentation throughput on CIFAR-10: images per second through the trainer's batch path
(index the uint8 training tensor with a permutation slice, then augment), per spec.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/augment_speed.py
Writes benchmarks/results/augment_speed.json and prints a table. The machine is shared, so each
spec runs several epochs and reports the best and median wall-clock rate, the rate per second of
this process's CPU time (what the machine gives when it is not shared), and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from _machine import machine

import classicnets as cn
from classicnets.data.augment import Augment

RESULTS = Path(__file__).parent / "results"
SPECS = ("crop,flip", "crop,altflip", "crop:4:reflect,flip", "crop,flip,cutout")


def epoch_rate(
    x: torch.Tensor, augment: Augment | None, batch_size: int, epoch: int
) -> tuple[float, float]:
    """Images per second of wall-clock time and of CPU time, over one epoch."""
    order = torch.randperm(len(x), device=x.device)
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(x), batch_size):
        index = order[start : start + batch_size]
        batch = x.index_select(0, index)  # as Model.fit does
        if augment is not None:
            batch = augment(batch, epoch=epoch, indices=index)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return len(x) / (time.perf_counter() - began), len(x) / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    train = cn.load_dataset("cifar10", "train")
    x = train.images.to(args.device)
    results = {"machine": machine(), "load_average_before": os.getloadavg(), "rates": {}}
    for threads in (1, torch.get_num_threads()) if args.device == "cpu" else (None,):
        if threads:
            torch.set_num_threads(threads)
        for spec in ("(indexing only)", *SPECS):
            augment = None if spec.startswith("(") else Augment.parse(spec, mean=train.mean)
            rates = [epoch_rate(x, augment, args.batch_size, e) for e in range(args.epochs)]
            key = f"{spec} threads={threads}" if threads else spec
            wall = [r[0] for r in rates]
            cpu = statistics.median(r[1] for r in rates)
            best, median = max(wall), statistics.median(wall)
            results["rates"][key] = {
                "wall_best": round(best),
                "wall_median": round(median),
                "per_cpu_second_median": round(cpu),
            }
            print(
                f"{key:34} wall best {best:>10,.0f}  median {median:>10,.0f}  "
                f"per CPU-second {cpu:>10,.0f} img/s"
            )
    results["load_average_after"] = os.getloadavg()
    results["batch_size"] = args.batch_size
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "augment_speed.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
