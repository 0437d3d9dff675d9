"""tinyshakespeare, character level: time for ``char_lstm`` and ``char_transformer`` to reach a
validation loss of 1.60 nats/char (perplexity 4.95) on this machine, and the training speed of
the LSTM's step-by-step and fused paths beside d2l's published numbers.

Both models train with truncated BPTT on 32 contiguous streams through
:class:`classicnets.train.SequenceModel` on the first 80 % of the text; every ``--probe``
seconds of training the whole validation part (the next 10 %, 111,539 characters) is scored.
Training time excludes those probes; a run stops at the target or after ``--budget`` seconds.
The test part (the last 10 %, 111,540 characters), never looked at before, is then scored
once. d2l's figures (its LSTM section: one layer of 256, batch 32, 35 steps, a 28-character
vocabulary, on a GPU) are quoted, not measured: 23.4 k tokens/s from scratch, 334 k with the
framework's fused LSTM.

One thread by default: these models are small, and on a CPU shared with other jobs two OpenMP
threads can spend more time waiting for each other than computing (on this machine, busy with
other jobs, the Transformer trained at 5 k tokens/s on two threads and 16 k on one).
``--threads 2`` uses both cores of an idle machine.

Run:   CLASSICNETS_DATA=../shared/data python benchmarks/char_lstm.py
Smoke (under a minute): CLASSICNETS_DATA=../shared/data python benchmarks/char_lstm.py \
       --budget 10 --probe 5 --speed-steps 2 --val-chars 10000 --sample-chars 100
Writes benchmarks/results/char_lstm.json and one generated sample per model,
benchmarks/results/char_lstm_sample.txt and char_transformer_sample.txt.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from _machine import machine

from classicnets.data.text import load_corpus
from classicnets.models import create_model
from classicnets.train import Callback, SequenceModel

RESULTS = Path(__file__).parent / "results"
D2L_TOKENS_PER_SECOND = {"scratch": 23_400, "fused": 334_000}
# Chosen with short runs on this machine (bf16, one thread, the CPU shared with other jobs): the
# LSTM scored 1.56 after 2.0 M training characters (80 s), the Transformer 1.59 after 4.0 M
# (260 s) and 1.565 after 6.0 M, on the first 40,000 validation characters.
SETUPS = {
    "char_lstm": {
        "model": {"hidden": 256, "layers": 2},
        "seq_len": 64,
        "batch_size": 32,
        "lr": 3e-3,
        "schedule": "constant",
        "epochs": 100,  # until the target or the budget
    },
    "char_transformer": {
        "model": {"hidden": 192, "layers": 4, "heads": 4, "context": 128},
        "seq_len": 128,
        "batch_size": 32,
        "lr": 2e-3,
        "schedule": "cosine",  # to zero over 5 epochs, 5 M characters
        "epochs": 5,
    },
}


class Probe(Callback):
    """Score the validation text every ``every`` seconds of training; stop at ``target`` or
    when the training time passes ``budget``. Probing time is not training time."""

    def __init__(self, val, every: float, target: float, budget: float, tokens_per_step: int):
        self.val, self.every, self.target, self.budget = val, every, target, budget
        self.tokens_per_step = tokens_per_step
        self.curve: list[dict] = []
        self.reached: dict | None = None

    def on_train_begin(self, logs) -> None:
        self.began = time.perf_counter()
        self.paused = 0.0
        self.next_probe = self.every
        self.last_loss = float("nan")

    def training_seconds(self) -> float:
        return time.perf_counter() - self.began - self.paused

    def on_train_batch_end(self, step, logs) -> None:
        self.last_loss = float(logs["loss"])
        seconds = self.training_seconds()
        if seconds >= self.next_probe or seconds >= self.budget:
            self.score(seconds)

    def on_train_end(self, logs) -> None:
        # fit ran out of epochs between two probes: score where it ended
        if not self.curve or self.curve[-1]["tokens"] != self.tokens():
            self.score(self.training_seconds())

    def tokens(self) -> int:
        return self.model.global_step * self.tokens_per_step

    def score(self, seconds: float) -> None:
        started = time.perf_counter()
        val = self.model.evaluate(self.val)
        point = {
            "seconds": round(seconds, 2),
            "tokens": self.tokens(),
            "train_loss": round(self.last_loss, 4),
            "val_loss": round(val["loss"], 4),
        }
        self.curve.append(point)
        print(f"  {point}", flush=True)
        self.paused += time.perf_counter() - started
        self.next_probe = seconds + self.every
        if val["loss"] <= self.target and self.reached is None:
            self.reached = point
            self.model.stop_training = True
        if seconds >= self.budget:
            self.model.stop_training = True


def time_to_target(name: str, corpus, args) -> dict:
    setup = SETUPS[name]
    module = create_model(name, vocab_size=len(corpus.vocabulary), seed=args.seed, **setup["model"])
    model = SequenceModel(
        module, vocabulary=corpus.vocabulary, seq_len=setup["seq_len"], device="cpu"
    )
    model.compile(
        optimizer="adam",
        lr=setup["lr"],
        schedule=setup["schedule"],
        grad_clip=1.0,
        precision="bf16" if args.bf16 else "fp32",
    )
    probe = Probe(
        corpus.val, args.probe, args.target, args.budget, setup["batch_size"] * setup["seq_len"]
    )
    began = time.perf_counter()
    model.fit(
        corpus.train, epochs=setup["epochs"], batch_size=setup["batch_size"], callbacks=[probe]
    )
    wall = time.perf_counter() - began
    test = model.evaluate(corpus.test)  # once, after training and the choice of the target
    sample = "".join(model.generate("\n", args.sample_chars, temperature=0.8, seed=args.seed))
    (RESULTS / f"{name}_sample.txt").write_text(sample + "\n")
    final = probe.curve[-1]
    return {
        "setup": setup,
        "parameters": sum(p.numel() for p in module.parameters()),
        "reached_target": probe.reached is not None,
        "seconds_to_target": probe.reached["seconds"] if probe.reached else None,
        "tokens_to_target": probe.reached["tokens"] if probe.reached else None,
        "final_val_loss": final["val_loss"],
        "test_loss": round(test["loss"], 4),
        "test_bits_per_char": round(test["loss"] / 0.6931471805599453, 4),
        "training_seconds": final["seconds"],
        "wall_seconds_with_probes": round(wall, 2),
        "tokens_per_second": round(final["tokens"] / max(final["seconds"], 1e-9)),
        "curve": probe.curve,
    }


def training_speed(corpus, fused: bool, steps: int) -> float:
    """Tokens/s of training updates in d2l's setting: one LSTM layer of 256, batch 32 x 35."""
    module = create_model(
        "char_lstm", vocab_size=len(corpus.vocabulary), hidden=256, layers=1, fused=fused, seed=0
    )
    model = SequenceModel(module, vocabulary=corpus.vocabulary, seq_len=35, device="cpu")
    model.compile(optimizer="sgd", lr=1.0, grad_clip=1.0)  # d2l: SGD, lr 1, clipping at 1
    model.module.train()
    pieces = (batch for _, batch in model.make_batches(corpus.train, 32, seed=0).epoch(0))
    model.train_step(model.prepare_batch(next(pieces)))  # warm-up
    began = time.perf_counter()
    for _ in range(steps):
        model.train_step(model.prepare_batch(next(pieces)))
    return steps * 32 * 35 / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--target", type=float, default=1.60, help="validation nats/char")
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per model")
    parser.add_argument("--probe", type=float, default=15.0, help="seconds between scores")
    parser.add_argument("--speed-steps", type=int, default=20, help="updates timed per path")
    parser.add_argument("--fp32", dest="bf16", action="store_false", help="no bf16 autocast")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--val-chars", type=int, default=None, help="score only the first N")
    parser.add_argument("--sample-chars", type=int, default=600, help="sample length")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(exist_ok=True)
    corpus = load_corpus("tinyshakespeare")
    if args.val_chars:  # a quick smoke run: score a part of the validation text
        corpus = dataclasses.replace(corpus, val=corpus.val[: args.val_chars])
    speed = {
        path: round(training_speed(corpus, path == "fused", args.speed_steps))
        for path in ("scratch", "fused")
    }
    print(f"LSTM training tokens/s: {speed} (d2l, on a GPU: {D2L_TOKENS_PER_SECOND})")
    runs = {}
    for name in args.models:
        print(f"{name}: to {args.target} nats/char within {args.budget:.0f} s", flush=True)
        runs[name] = time_to_target(name, corpus, args)
        run = runs[name]
        print(
            f"{name}: {'reached' if run['reached_target'] else 'did not reach'} "
            f"{args.target} (final {run['final_val_loss']}) after {run['training_seconds']} s, "
            f"{run['tokens_per_second']} tokens/s; test loss {run['test_loss']}",
            flush=True,
        )
    result = {
        "benchmark": "tinyshakespeare character models",
        "target_val_loss": args.target,
        "budget_seconds": args.budget,
        "bf16": args.bf16,
        "lstm_training_tokens_per_second": {
            "ours": speed,
            "d2l_published": D2L_TOKENS_PER_SECOND,
            "setting": "1 LSTM layer of 256, batch 32 x 35 steps, SGD; ours fp32 on this CPU",
        },
        "runs": runs,
        "machine": machine(),
    }
    (RESULTS / "char_lstm.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
