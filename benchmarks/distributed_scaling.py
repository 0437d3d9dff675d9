"""Data-parallel scaling on this machine: LeNet-5 images per second trained by 1 and by 2
processes (gloo on CPU, 127.0.0.1), and the scaling efficiency.

Each process trains with the same batch per rank (so 2 processes take a global batch twice as
large: weak scaling), through ``Model.fit`` with ``classicnets.train.distributed`` exactly as
``classicnets train --nproc N`` does. Each process gets ``cores / N`` torch threads, so every
configuration uses the whole machine; the first ``--warmup`` updates are not timed, then
``--steps`` updates are. Efficiency = images/s with N processes / (N x images/s with 1).

With only 2 cores, as on the machine this was written on, little scaling is to be expected:
1 process with 2 threads already uses both cores, and 2 processes of 1 thread add the
gradient all-reduce and the logs' all-reduce of every update on top. The benchmark says what
data parallelism costs here, not what it gains on a machine with many cores or GPUs.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/distributed_scaling.py
Writes benchmarks/results/distributed_scaling.json and .md (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp
from _machine import machine

import classicnets as cn
from classicnets.train import Callback, Model
from classicnets.train.distributed import DataParallel

RESULTS = Path(__file__).parent / "results"


class Stopwatch(Callback):
    """Times the updates after the first ``warmup`` and counts their examples (over all ranks:
    the trainer counts the global batch), and stops after ``steps`` of them."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.updates, self.began, self.examples, self.before = 0, 0.0, 0, 0

    def on_epoch_begin(self, epoch: int) -> None:
        self.before = 0  # the trainer's count starts again each epoch

    def on_train_batch_end(self, step, logs) -> None:
        self.updates += 1
        seen = self.model.examples_this_epoch
        if self.updates > self.warmup:
            self.examples += seen - self.before
        self.before = seen
        if self.updates == self.warmup:
            self.began = time.perf_counter()
        if self.updates == self.warmup + self.steps:
            self.seconds = time.perf_counter() - self.began
            self.model.stop_training = True


def load(data: str) -> cn.data.ImageDataset:
    train = cn.load_dataset(data, "train")
    return train if train.image_shape[-1] >= 28 else train.resized(28)


def worker(rank: int, world: int, port: int, args: argparse.Namespace, out: str) -> None:
    os.environ.update(
        {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank)}
        | {"WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)}
    )
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    train = load(args.data)
    context = DataParallel.from_env("cpu") if world > 1 else None
    model = Model(cn.create_model("lenet5_relu", seed=0), device="cpu")
    model.compile("sgd", lr=0.01, precision="fp32")
    if context is not None:
        context.wrap(model)
    watch = Stopwatch(args.warmup, args.steps)
    per_epoch = len(train) // (args.batch_size * world)
    epochs = -(-(args.warmup + args.steps) // per_epoch) + 1
    model.fit(
        train, epochs=epochs, batch_size=args.batch_size, callbacks=[watch], guard=False, seed=0
    )
    if rank == 0:
        Path(out).write_text(json.dumps({"seconds": watch.seconds, "images": watch.examples}))
    if context is not None:
        context.close()


def measure(world: int, args: argparse.Namespace) -> float:
    """Images per second trained by ``world`` processes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "rank0.json")
        mp.start_processes(worker, (world, port, args, out), nprocs=world, start_method="spawn")
        timed = json.loads(Path(out).read_text())
    return timed["images"] / timed["seconds"]


def markdown(result: dict) -> str:
    s, m = result["settings"], result["machine"]
    lines = [
        "# Data-parallel scaling (gloo on CPU)",
        "",
        f"LeNet-5 (ReLU) on {s['data']}, batch {s['batch_size']} per process, {s['steps']} timed "
        f"updates after {s['warmup']} untimed, {s['rounds']} interleaved rounds (median, range). "
        "Each process has cores / processes torch threads. Efficiency = images/s with N "
        "processes / (N × images/s with 1).",
        "",
        "| processes | threads each | images/s | efficiency |",
        "|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        ips = r["images_per_second"]
        lines.append(
            f"| {r['processes']} | {r['threads_per_process']} | {ips['median']:,.0f} "
            f"({ips['min']:,.0f}–{ips['max']:,.0f}) | {r['efficiency']:.2f} |"
        )
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; torch {m['torch']}, Python {m['python']}. "
        f"Run on {result['date']} with `{result['command']}`. With 2 cores little scaling is "
        "expected: one process already uses both.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist", help="mnist, or digits (upsampled to 28)")
    parser.add_argument("--batch-size", type=int, default=128, help="per process")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="the JSON file (the .md goes beside it)")
    args = parser.parse_args()
    speeds: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.rounds):  # 1 2 1 2 ...: the machine's noise falls on both alike
        for world in speeds:
            speeds[world].append(measure(world, args))
            print(f"{world} process(es): {speeds[world][-1]:,.0f} images/s")
    base = statistics.median(speeds[1])
    rows = [
        {
            "processes": world,
            "threads_per_process": max(1, (os.cpu_count() or 1) // world),
            "images_per_second": {
                "median": round(statistics.median(v), 1),
                "min": round(min(v), 1),
                "max": round(max(v), 1),
            },
            "efficiency": round(statistics.median(v) / (world * base), 3),
        }
        for world, v in speeds.items()
    ]
    result = {
        "benchmark": "distributed_scaling",
        "command": "python benchmarks/distributed_scaling.py",
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": machine(),
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out or RESULTS / "distributed_scaling.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
