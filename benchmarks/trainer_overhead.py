"""The trainer's own overhead: one epoch of LeNet-5 (ReLU) on MNIST through ``Model.fit``
against the same epoch written by hand (the same in-memory batches, normalisation, optimizer,
one-cycle rates and precision), and against an idiomatic TensorDataset + DataLoader loop.

The machine is shared and noisy, so the epochs are interleaved, A B C A B C ..., for
``--pairs`` rounds, and the per-round ratios' median and range are reported. Everything runs
in one process on data already in memory.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/trainer_overhead.py
Writes benchmarks/results/trainer_overhead.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from pathlib import Path

import torch
from _machine import machine
from _report import trainer_overhead as markdown
from torch.utils.data import DataLoader, TensorDataset

import classicnets as cn
from classicnets.train import Schedule

RESULTS = Path(__file__).parent / "results"


def autocast(precision: str):
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class HandLoop:
    """The epoch as one writes it by hand: a random permutation, index_select, normalise."""

    def __init__(self, train, args) -> None:
        self.x, self.y = train.images, train.labels
        self.mean, self.std = train.mean[0], train.std[0]
        self.module = cn.create_model("lenet5_relu", seed=0)
        if args.precision == "bf16":
            self.module = self.module.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=args.lr)
        self.steps = -(-len(self.x) // args.batch_size)
        self.schedule = Schedule("onecycle", args.pairs * self.steps, self.steps)
        self.args, self.step = args, 0

    def epoch(self) -> None:
        args = self.args
        order = torch.randperm(len(self.x))
        self.module.train()
        for start in range(0, len(self.x), args.batch_size):
            index = order[start : start + args.batch_size]
            x = (self.x.index_select(0, index).float().div_(255) - self.mean) / self.std
            if args.precision == "bf16":
                x = x.contiguous(memory_format=torch.channels_last)
            for group in self.optimizer.param_groups:
                group["lr"] = args.lr * self.schedule(self.step)
            self.optimizer.zero_grad(set_to_none=True)
            with autocast(args.precision):
                loss = torch.nn.functional.cross_entropy(self.module(x), self.y[index])
            loss.backward()
            self.optimizer.step()
            self.step += 1


class DataLoaderLoop:
    """A tutorial's loop: normalised float tensors in a TensorDataset, a shuffling DataLoader."""

    def __init__(self, train, args) -> None:
        x = (train.images.float() / 255 - train.mean[0]) / train.std[0]
        self.loader = DataLoader(TensorDataset(x, train.labels), args.batch_size, shuffle=True)
        self.module = cn.create_model("lenet5_relu", seed=0)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=args.lr)

    def epoch(self) -> None:
        self.module.train()
        for x, y in self.loader:
            self.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(self.module(x), y).backward()
            self.optimizer.step()


class Ours:
    """``Model.fit``, one epoch of the plan at a time (``initial_epoch``)."""

    def __init__(self, train, args) -> None:
        self.train, self.args, self.done = train, args, 0
        self.model = cn.Model(cn.create_model("lenet5_relu", seed=0), device="cpu")
        self.model.compile(
            optimizer="adam",
            lr=args.lr,
            schedule="onecycle",
            precision=args.precision,
            channels_last=args.precision == "bf16",
        )

    def epoch(self) -> None:
        self.done += 1
        self.model.fit(
            self.train,
            epochs=self.done,
            initial_epoch=self.done - 1,
            batch_size=self.args.batch_size,
            guard=True,
        )


def timed(loop) -> float:
    began = time.perf_counter()
    loop.epoch()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    train = cn.load_dataset("mnist", "train")
    loops = {"classicnets": Ours(train, args), "hand": HandLoop(train, args)}
    if args.precision == "fp32":
        loops["dataloader"] = DataLoaderLoop(train, args)
    for loop in loops.values():  # warm-up: first-touch costs out of the timings
        loop.epoch()
    seconds: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.pairs):  # A B C A B C ...
        for name, loop in loops.items():
            seconds[name].append(timed(loop))
    ratios = {
        name: [a / b for a, b in zip(seconds["classicnets"], seconds[name], strict=True)]
        for name in loops
        if name != "classicnets"
    }
    summary = {
        name: {
            "median": round(statistics.median(r), 3),
            "min": round(min(r), 3),
            "max": round(max(r), 3),
        }
        for name, r in ratios.items()
    }
    for name, s in summary.items():
        print(
            f"classicnets / {name} epoch time: median {s['median']} (range {s['min']}-{s['max']})"
        )
    result = {
        "benchmark": "trainer_overhead",
        "command": "python benchmarks/trainer_overhead.py"
        + (f" --precision {args.precision}" if args.precision != "fp32" else ""),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": machine(),
        "epoch_seconds": {k: [round(v, 3) for v in vs] for k, vs in seconds.items()},
        "classicnets_over": summary,
        "date": time.strftime("%Y-%m-%d"),
    }
    suffix = "" if args.precision == "fp32" else f"_{args.precision}"
    out = Path(args.out or RESULTS / f"trainer_overhead{suffix}.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))


if __name__ == "__main__":
    main()
