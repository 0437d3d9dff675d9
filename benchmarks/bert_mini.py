"""BERT-Mini on the shipped books: masked-language-model pre-training, then fine-tuning on which
book a line comes from, against the same network trained on that task from scratch.

1. Pre-training: ``bert_mini`` (4 layers, hidden 256, 4 heads, FFN 1024) on 128-character
   windows of tinyshakespeare and Alice (plain ASCII, character tokens, see
   :mod:`classicnets.data.mlm`), the first 80 % of each book, masked afresh every batch (15 %,
   80/10/10) for ``--pretrain`` CPU seconds. Scored: MLM accuracy on the chosen characters of
   the validation text (the next 10 % of each book, one fixed masking).
2. Which book (tinyshakespeare vs Alice): lines of at least 40 characters cut to 40, balanced,
   train/val/test by position in each book (the same cut as the pre-training text, so no test
   line was pre-trained on). The pre-trained encoder with a fresh classifier on ``[CLS]``, and
   a freshly initialised ``bert_mini`` (same seed, same recipe), each train for ``--finetune``
   CPU seconds; both are scored on the test lines.

Budgets are CPU seconds of this process (``time.process_time``, see ``_budget.py``) so that a
machine shared with other jobs still gives each stage the same compute. One torch thread.

Run:   CLASSICNETS_DATA=../shared/data nice -n 19 python benchmarks/bert_mini.py
Smoke: CLASSICNETS_DATA=../shared/data python benchmarks/bert_mini.py --pretrain 5 \
       --finetune 3 --out /tmp/bert_smoke
Writes benchmarks/results/bert_mini.json and bert_mini.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _budget import CLOCKS, TimeBudget
from _machine import machine

import classicnets.models.bert  # noqa: F401  (registers bert_mini until models/ imports it)
from classicnets.data.mlm import load_book_lines, load_mlm_corpus
from classicnets.models import create_model
from classicnets.train import Callback
from classicnets.train.mlm import MaskedLMModel, SequenceClassifierModel, load_encoder

RESULTS = Path(__file__).parent / "results"
# Chosen, not tuned: AdamW with BERT's weight decay and warm-up, a rate fitted to a few hundred
# steps rather than BERT's million; fine-tuning and scratch share one recipe.
PRETRAIN = {"lr": 1e-3, "warmup_steps": 50, "weight_decay": 0.01, "grad_clip": 1.0, "batch": 16}
FINETUNE = {"lr": 2e-4, "warmup_steps": 20, "weight_decay": 0.01, "grad_clip": 1.0, "batch": 32}


class RecentLoss(Callback):
    """The mean training loss of the last ``n`` batches (a budget ends mid-epoch)."""

    def __init__(self, n: int = 50) -> None:
        self.n, self.losses = n, []

    def on_train_batch_end(self, step, logs) -> None:
        self.losses = [*self.losses[-(self.n - 1) :], float(logs["loss"])]

    def mean(self) -> float:
        return sum(self.losses) / max(len(self.losses), 1)


def train(trainer, data, recipe: dict, seconds: float, seed: int) -> dict:
    """Train ``trainer`` on ``data`` for ``seconds`` CPU seconds; what it did."""
    trainer.compile(
        "adamw",
        lr=recipe["lr"],
        warmup_steps=recipe["warmup_steps"],
        weight_decay=recipe["weight_decay"],
        grad_clip=recipe["grad_clip"],
    )
    budget = TimeBudget(seconds, clock=CLOCKS["cpu"])
    recent = RecentLoss()
    began = time.perf_counter()
    trainer.fit(
        data, epochs=10_000, batch_size=recipe["batch"], seed=seed, callbacks=[budget, recent]
    )
    return {
        "cpu_seconds": round(budget.spent(), 1),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "steps": budget.steps,
        "epochs": round(budget.steps / trainer.steps_per_epoch, 2),
        "last_50_batches_loss": round(recent.mean(), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain", type=float, default=240.0, help="CPU seconds")
    parser.add_argument("--finetune", type=float, default=60.0, help="CPU seconds, each run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "bert_mini")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    corpus = load_mlm_corpus(max_len=128)
    task = load_book_lines(min_length=40, vocabulary=corpus.vocabulary, seed=args.seed)
    vocab_size = len(corpus.vocabulary)

    encoder = create_model("bert_mini", seed=args.seed, vocab_size=vocab_size, max_len=128)
    mlm = MaskedLMModel(encoder, vocabulary=corpus.vocabulary, device="cpu")
    pretraining = train(mlm, corpus.train, PRETRAIN, args.pretrain, args.seed)
    held_out = mlm.evaluate(corpus.val, batch_size=len(corpus.val))  # one batch: exact mean
    untrained = MaskedLMModel(
        create_model("bert_mini", seed=args.seed, vocab_size=vocab_size), device="cpu"
    )
    untrained.compile("adamw")
    chance = untrained.evaluate(corpus.val, batch_size=len(corpus.val))

    runs = {}
    for name in ("fine-tuned", "from scratch"):
        module = create_model("bert_mini", seed=args.seed, vocab_size=vocab_size, max_len=128)
        if name == "fine-tuned":
            load_encoder(module, encoder)
        classifier = SequenceClassifierModel(
            module, vocabulary=corpus.vocabulary, classes=task.classes, device="cpu"
        )
        runs[name] = train(classifier, task.train, FINETUNE, args.finetune, args.seed)
        runs[name]["val_accuracy"] = classifier.evaluate(task.val)["accuracy"]
        runs[name]["test_accuracy"] = classifier.evaluate(task.test)["accuracy"]

    result = {
        "benchmark": "bert_mini",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "CLASSICNETS_DATA=../shared/data nice -n 19 python benchmarks/bert_mini.py "
        f"--pretrain {args.pretrain:g} --finetune {args.finetune:g}",
        "machine": machine(),
        "clock": "CPU seconds of this process (time.process_time)",
        "data": {
            "vocabulary": vocab_size,
            "pretrain_windows": {"train": len(corpus.train), "val": len(corpus.val)},
            "which_book_lines": {
                "train": len(task.train),
                "val": len(task.val),
                "test": len(task.test),
            },
            "classes": list(task.classes),
        },
        "recipes": {"pretrain": PRETRAIN, "finetune": FINETUNE},
        "pretraining": {
            **pretraining,
            "val_mlm_accuracy": held_out["mlm_accuracy"],
            "val_mlm_loss": held_out["loss"],
            "untrained_val_mlm_accuracy": chance["mlm_accuracy"],
        },
        "which_book": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(report(result))
    print(report(result))


def report(result: dict) -> str:
    """The markdown table of a result."""
    p, runs, m = result["pretraining"], result["which_book"], result["machine"]
    lines = [
        "# BERT-Mini: masked-language-model pre-training and which-book fine-tuning",
        "",
        f"Pre-training: {p['steps']} steps ({p['epochs']} epochs) in {p['cpu_seconds']} CPU s "
        f"({p['wall_seconds']} s wall). Which-book task: {result['data']['which_book_lines']} "
        "lines, balanced (chance 50 %).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| held-out MLM accuracy (masked characters, val text) | {p['val_mlm_accuracy']:.1%} |",
        f"| the same, untrained network | {p['untrained_val_mlm_accuracy']:.1%} |",
    ]
    for name, run in runs.items():
        lines.append(
            f"| which book, {name}: test accuracy ({run['steps']} steps, "
            f"{run['cpu_seconds']} CPU s) | {run['test_accuracy']:.1%} |"
        )
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads); torch "
        f"{m['torch']}. Run on {result['date']} with `{result['command']}`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
