"""MNIST with LeNet-5: the course's Keras listing, an idiomatic plain-PyTorch loop, and
``classicnets train lenet5_relu --data mnist`` with no flags, on one machine, interleaved
(``--pairs`` rounds of the three; the speed-ups' median and range are reported).

- **Keras**: the course's listing as published (Keras 3 on the torch backend, installed by this
  script into its own virtual environment, ``benchmarks/.keras-venv``): Conv2D(6, 5x5, relu),
  MaxPool 2, Conv2D(16, 5x5) without activation, MaxPool 2, Flatten, Dense(120), Dense(84),
  Dense(10, softmax); SGD; categorical cross-entropy; inputs /255; batch 64; its 50 epochs
  (``--keras-epochs`` of them are run and timed; the rest are estimated from the median epoch)
  with the test set as its validation_data, as the listing has it. The course reports train
  0.9939 / test 0.9852 after 50 epochs.
- **plain PyTorch**: the same LeNet-5 (ReLU) module trained by a TensorDataset + DataLoader loop
  as a tutorial writes it (Adam 1e-3, batch 64, constant rate, float32) on the same 54,000
  training images, until its validation accuracy (the same 6,000) reaches the default run's;
  then its test accuracy, once.
- **classicnets**: the run pipeline with the recipe and the precision it picks.

Times are wall seconds of training from data in memory (classicnets: data loading and the final
test included). Run: CLASSICNETS_DATA=../shared/data python benchmarks/mnist_vs_keras.py
Writes benchmarks/results/mnist_vs_keras.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
from _machine import machine
from _report import mnist_vs_keras as markdown
from torch.utils.data import DataLoader, TensorDataset

import classicnets as cn
from classicnets.runs import ImageRunConfig, train

HERE = Path(__file__).parent
RESULTS = HERE / "results"
VENV = HERE / ".keras-venv"
KERAS_VERSION = "3.12.0"
COURSE = {"train_accuracy": 0.9939, "test_accuracy": 0.9852, "epochs": 50}

KERAS_LISTING = textwrap.dedent(
    """
    import gzip, json, os, sys, time
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras
    from keras import layers

    root, epochs = sys.argv[1], int(sys.argv[2])

    def idx(name):
        with gzip.open(os.path.join(root, name)) as f:
            data = f.read()
        dims = data[3]
        shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)

    x_train = idx("train-images-idx3-ubyte.gz").reshape(-1, 28, 28, 1) / 255.0
    x_test = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 28, 28, 1) / 255.0
    y_train = keras.utils.to_categorical(idx("train-labels-idx1-ubyte.gz"), 10)
    y_test = keras.utils.to_categorical(idx("t10k-labels-idx1-ubyte.gz"), 10)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(6, (5, 5), padding="valid", activation="relu"),
        layers.MaxPool2D(2, 2),
        layers.Conv2D(16, (5, 5), padding="valid"),
        layers.MaxPool2D(2, 2),
        layers.Flatten(),
        layers.Dense(120),
        layers.Dense(84),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile("sgd", loss="categorical_crossentropy", metrics=["accuracy"])

    class Times(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = getattr(self, "seconds", []) + [time.perf_counter() - self.began]

    times = Times()
    history = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0,
                        validation_data=(x_test, y_test), callbacks=[times])
    print(json.dumps({"epoch_seconds": times.seconds, "keras": keras.__version__,
                      "accuracy": history.history["accuracy"],
                      "val_accuracy": history.history["val_accuracy"]}))
    """
)


def keras_python() -> Path:
    """The Python of the Keras environment, made on first use (CPU torch, then Keras)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--no-deps", f"torch=={torch.__version__.split('+')[0]}"], check=True)
        subprocess.run([*pip, f"torch=={torch.__version__.split('+')[0]}"], check=True)
        subprocess.run([*pip, f"keras=={KERAS_VERSION}"], check=True)
    return python


def run_keras(root: Path, epochs: int) -> dict:
    done = subprocess.run(
        [str(keras_python()), "-c", KERAS_LISTING, str(root), str(epochs)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = result["epoch_seconds"]
    typical = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    estimate = sum(seconds) + typical * (COURSE["epochs"] - len(seconds))
    return {
        **result,
        "epochs_run": len(seconds),
        "median_epoch_seconds": round(typical, 2),
        "estimated_50_epoch_seconds": round(estimate, 1),
    }


def plain_pytorch(target_val: float, max_epochs: int, seed: int) -> dict:
    """A tutorial's loop, until its validation accuracy reaches ``target_val``."""
    began = time.perf_counter()
    full = cn.load_dataset("mnist", "train")
    train_part, val = full.validation_split(0.1)
    test = cn.load_dataset("mnist", "test")

    def tensors(data):
        x = (data.images.float() / 255 - full.mean[0]) / full.std[0]
        return x, data.labels

    x, y = tensors(train_part)
    torch.manual_seed(seed)
    module = cn.create_model("lenet5_relu", seed=seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)

    def accuracy(data) -> float:
        module.eval()
        xs, ys = tensors(data)
        with torch.no_grad():
            correct = sum(
                (module(xs[i : i + 1000]).argmax(1) == ys[i : i + 1000]).sum().item()
                for i in range(0, len(xs), 1000)
            )
        module.train()
        return correct / len(xs)

    curve = []
    for epoch in range(max_epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(xb), yb).backward()
            optimizer.step()
        curve.append({"epoch": epoch + 1, "val_accuracy": accuracy(val),
                      "seconds": round(time.perf_counter() - began, 1)})  # fmt: skip
        print(f"  plain PyTorch epoch {epoch + 1}: validation {curve[-1]['val_accuracy']:.4f}")
        if curve[-1]["val_accuracy"] >= target_val:
            break
    reached = curve[-1]["val_accuracy"] >= target_val
    return {
        "recipe": "Adam 1e-3, batch 64, constant rate, float32, DataLoader(shuffle=True)",
        "reached_target": reached,
        "epochs": len(curve),
        "seconds": round(time.perf_counter() - began, 1),
        "test_accuracy": accuracy(test),  # once, at the end
        "curve": curve,
    }


def classicnets_default(seed: int) -> dict:
    """``classicnets train lenet5_relu --data mnist`` with no flags, through the run pipeline."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        ours = train(ImageRunConfig(model="lenet5_relu", data="mnist", seed=seed,
                                    out=str(out)), progress=False)  # fmt: skip
        config = json.loads((out / "config.json").read_text())
        used = json.loads((out / "last.json").read_text())["compile"]
    keys = ("recipe", "optimizer", "lr", "batch_size", "schedule", "epochs")
    return {
        "command": "classicnets train lenet5_relu --data mnist",
        "settings": {k: config[k] for k in keys} | {"precision": used["precision"]},
        "seconds": round(ours.seconds, 1),
        "val_accuracy": ours.validation["val_accuracy"],
        "test_accuracy": ours.test["accuracy"],
    }


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="rounds of the three, interleaved")
    parser.add_argument("--keras-epochs", type=int, default=3, help="run, then estimate to 50")
    parser.add_argument("--plain-max-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "mnist_vs_keras.json"))
    args = parser.parse_args()
    root = Path(os.environ.get("CLASSICNETS_DATA", "")) / "mnist"
    rounds = []
    for number in range(args.pairs):  # ours, plain, Keras, ours, plain, Keras, ...
        default = classicnets_default(args.seed)
        print(f"[{number + 1}] classicnets: test {default['test_accuracy']:.4f} "
              f"in {default['seconds']} s")  # fmt: skip
        plain = plain_pytorch(default["val_accuracy"], args.plain_max_epochs, args.seed)
        print(f"[{number + 1}] plain PyTorch: test {plain['test_accuracy']:.4f} "
              f"in {plain['seconds']} s")  # fmt: skip
        keras = run_keras(root, args.keras_epochs)
        print(f"[{number + 1}] Keras: {keras['estimated_50_epoch_seconds']} s for 50 epochs "
              "(estimated)", flush=True)  # fmt: skip
        rounds.append({"classicnets_default": default, "plain_pytorch": plain, "keras": keras})
    over_keras = [
        r["keras"]["estimated_50_epoch_seconds"] / r["classicnets_default"]["seconds"]
        for r in rounds
    ]
    over_plain = [
        r["plain_pytorch"]["seconds"] / r["classicnets_default"]["seconds"] for r in rounds
    ]
    result = {
        "benchmark": "mnist_vs_keras",
        "command": "python benchmarks/mnist_vs_keras.py",
        "settings": {"pairs": args.pairs, "keras_epochs": args.keras_epochs, "seed": args.seed},
        "machine": machine(),
        "course_reports": COURSE,
        "speedup_over_keras_50_epochs": spread(over_keras),
        "speedup_over_plain_pytorch": spread(over_plain),
        "test_accuracy": {
            "classicnets_default": [r["classicnets_default"]["test_accuracy"] for r in rounds],
            "plain_pytorch": [r["plain_pytorch"]["test_accuracy"] for r in rounds],
        },
        "rounds": rounds,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(result))
    print(f"speed-up (median of {args.pairs} rounds): "
          f"{result['speedup_over_keras_50_epochs']['median']}x Keras's 50 epochs, "
          f"{result['speedup_over_plain_pytorch']['median']}x the plain loop")  # fmt: skip


if __name__ == "__main__":
    main()
