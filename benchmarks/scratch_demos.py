"""The hand-written network's two course demos on digits, as ``classicnets scratch vanishing``
and ``classicnets scratch batches`` print them, with the machine: per-layer gradient norms of a
10-layer sigmoid / ReLU / Maxout MLP at initialisation and after 20 epochs, and per-example vs
mini-batch vs full-batch SGD over 10 epochs (loss against updates and seconds).

Run: python benchmarks/scratch_demos.py   (digits ships with scikit-learn: no download)
Writes benchmarks/results/scratch_demos.json and the two pictures in docs/.
"""

from __future__ import annotations

import json
from pathlib import Path

from _machine import machine

from classicnets.runs.scratch_demos import batch_sizes, vanishing_gradient
from classicnets.viz.scratch_demos import plot_batch_sizes, plot_vanishing

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    vanishing = vanishing_gradient(epochs=20)
    batches = batch_sizes(epochs=10)
    plot_vanishing(vanishing, ROOT / "docs" / "scratch-vanishing.png",
                   "10-layer MLP (width 32) on digits, training split")  # fmt: skip
    plot_batch_sizes(batches, ROOT / "docs" / "scratch-batches.png",
                     "MLP 64-64-10 on digits, 10 epochs of plain SGD, training split")  # fmt: skip
    result = {
        "benchmark": "scratch_demos",
        "command": "python benchmarks/scratch_demos.py",
        "machine": machine(),
        "vanishing": vanishing,
        "batches": batches,
    }
    out = ROOT / "benchmarks" / "results" / "scratch_demos.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for activation, row in vanishing["rows"].items():
        print(f"{activation}: first/last layer gradient {row['init'][0] / row['init'][-1]:.3g} "
              f"at init; test {row['test_accuracy']:.4f}")  # fmt: skip
    for name, row in batches["rows"].items():
        last = row["points"][-1]
        print(f"batch {name}: {last['updates']} updates, {last['seconds']:.2f} s, "
              f"loss {last['train_loss']:.4f}, test {row['test_accuracy']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
