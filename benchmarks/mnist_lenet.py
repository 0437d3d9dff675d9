"""MNIST with LeNet-5 (ReLU + max-pool variant): time to >= 99 % test accuracy on this machine,
data loading included, against the same model trained by a hand-written in-memory loop and by an
idiomatic plain-PyTorch loop (TensorDataset + DataLoader), same optimizer, schedule and batches.

A fixed recipe (3 epochs, one-cycle) trains on all 60,000 training images, and the test split is
scored once, after the last epoch: nothing is chosen on it, so no validation split is needed.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/mnist_lenet.py
Writes benchmarks/results/mnist_lenet.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _machine import machine
from torch.utils.data import DataLoader, TensorDataset

import classicnets as cn
from classicnets.train import Schedule

RESULTS = Path(__file__).parent / "results"


def classicnets_run(args) -> dict:
    began = time.perf_counter()
    train = cn.load_dataset("mnist", "train")
    test = cn.load_dataset("mnist", "test")
    loaded = time.perf_counter() - began
    model = cn.Model(cn.create_model(args.model, seed=args.seed), device="cpu")
    model.compile(optimizer="adam", lr=args.lr, schedule=args.schedule)
    history = model.fit(train, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    accuracy = model.evaluate(test)["accuracy"]
    return {
        "test_accuracy": accuracy,
        "wall_seconds": time.perf_counter() - began,
        "load_seconds": loaded,
        "epoch_seconds": history["seconds"],
    }


def _normalised(split: str) -> tuple[torch.Tensor, torch.Tensor, tuple, tuple]:
    data = cn.load_dataset("mnist", split)
    x = (data.images.float() / 255 - data.mean[0]) / data.std[0]
    return x, data.labels, data.mean, data.std


def _accuracy(module, x, y) -> float:
    module.eval()
    with torch.no_grad():
        return sum(
            (module(x[i : i + 1024]).argmax(1) == y[i : i + 1024]).sum().item()
            for i in range(0, len(x), 1024)
        ) / len(x)


def hand_loop(args, use_dataloader: bool) -> dict:
    """The same training written by hand: slices of in-memory tensors, or a DataLoader."""
    began = time.perf_counter()
    x, y, _, _ = _normalised("train")
    xt, yt, _, _ = _normalised("test")
    module = cn.create_model(args.model, seed=args.seed)
    torch.manual_seed(args.seed)  # the loops' own data order
    opt = torch.optim.Adam(module.parameters(), lr=args.lr)
    steps = -(-len(x) // args.batch_size)
    schedule = Schedule(args.schedule, args.epochs * steps, steps_per_epoch=steps)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    epoch_seconds, step = [], 0
    for _ in range(args.epochs):
        start = time.perf_counter()
        module.train()
        if use_dataloader:
            batches = iter(loader)
        else:
            order = torch.randperm(len(x))
            batches = (
                (x[idx], y[idx])
                for idx in (
                    order[i : i + args.batch_size] for i in range(0, len(x), args.batch_size)
                )
            )
        for xb, yb in batches:
            for group in opt.param_groups:
                group["lr"] = args.lr * schedule(step)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(module(xb), yb)
            loss.backward()
            opt.step()
            step += 1
        epoch_seconds.append(time.perf_counter() - start)
    return {
        "test_accuracy": _accuracy(module, xt, yt),
        "wall_seconds": time.perf_counter() - began,
        "epoch_seconds": epoch_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5_relu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--schedule", default="onecycle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--out", default=str(RESULTS / "mnist_lenet.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    ours = classicnets_run(args)
    hand = hand_loop(args, use_dataloader=False)
    plain = hand_loop(args, use_dataloader=True)

    def mean_epoch(r):
        return sum(r["epoch_seconds"]) / len(r["epoch_seconds"])

    result = {
        "benchmark": "mnist_lenet",
        "command": "python benchmarks/mnist_lenet.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": machine(),
        "classicnets": ours,
        "hand_written_in_memory_loop": hand,
        "plain_pytorch_dataloader": plain,
        "epoch_time_vs_hand_loop": mean_epoch(ours) / mean_epoch(hand),
        "dataloader_wall_ratio": plain["wall_seconds"] / ours["wall_seconds"],
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for name in ("classicnets", "hand_written_in_memory_loop", "plain_pytorch_dataloader"):
        r = result[name]
        print(
            f"{name:30s} test acc {r['test_accuracy']:.4f}  wall {r['wall_seconds']:6.1f} s  "
            f"epoch {mean_epoch(r):5.2f} s"
        )
    print(f"epoch time classicnets / hand loop: {result['epoch_time_vs_hand_loop']:.3f}")
    print(f"wall time DataLoader / classicnets: {result['dataloader_wall_ratio']:.2f}")


if __name__ == "__main__":
    main()
