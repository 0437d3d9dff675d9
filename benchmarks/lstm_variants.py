"""The LSTM variants and GRU forms side by side on tinyshakespeare at an equal parameter count:
each ``char_lstm`` / ``char_gru`` cell (``--cell``) with the state width that brings its
recurrent layer closest to a 1 x 128 LSTM's parameters, a 64-wide embedding, Adam 3e-3,
batch 32 x 64 characters, trained for the same number of updates (``--epochs`` passes over the
training text), every cell from its step-by-step equations (PyTorch's fused kernels exist for
two of them only, which would make time budgets unequal); then validation loss in nats per
character (the 10 % of the text before the test part). The CPU seconds each took are recorded.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/lstm_variants.py [--epochs 2]
Writes benchmarks/results/lstm_variants.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _budget import CLOCKS, TimeBudget
from _machine import machine

from classicnets.data.text import load_corpus
from classicnets.layers.lstm_variants import hidden_for_budget, recurrent_parameters
from classicnets.models import create_model
from classicnets.train import SequenceModel

RESULTS = Path(__file__).parent / "results"
CELLS = {  # the model each cell belongs to
    "lstm": "char_lstm", "lstm_nofg": "char_lstm", "lstm_coupled": "char_lstm",
    "lstm_peephole": "char_lstm", "gru": "char_gru", "gru_cho": "char_gru",
}  # fmt: skip
EMBED = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training text")
    parser.add_argument("--out", default=str(RESULTS / "lstm_variants.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    corpus = load_corpus("tinyshakespeare")
    budget = recurrent_parameters("lstm", EMBED, 128)
    rows = []
    for cell, name in CELLS.items():
        hidden = hidden_for_budget(cell, EMBED, budget, 1, False)
        module = create_model(
            name, seed=0, vocab_size=len(corpus.vocabulary), hidden=hidden, layers=1,
            embed_dim=EMBED, cell=cell, fused=False,
        )  # fmt: skip
        model = SequenceModel(module, vocabulary=corpus.vocabulary, seq_len=64, device="cpu")
        model.compile(optimizer="adam", lr=3e-3, grad_clip=1.0, precision="fp32")
        clock = TimeBudget(None, CLOCKS["cpu"])  # counts updates and CPU seconds only
        model.fit(corpus.train, epochs=args.epochs, batch_size=32, callbacks=[clock], seed=0)
        val = model.evaluate(corpus.val)
        rows.append({
            "cell": cell, "model": name, "hidden": hidden,
            "recurrent_parameters": recurrent_parameters(cell, EMBED, hidden),
            "parameters": sum(p.numel() for p in module.parameters()),
            "updates": clock.steps, "cpu_seconds": round(clock.spent(), 1),
            "val_nats_per_char": round(val["loss"], 4),
        })  # fmt: skip
        print(rows[-1])
    result = {
        "benchmark": "lstm_variants",
        "command": "python benchmarks/lstm_variants.py",
        "machine": machine(),
        "budget_parameters": budget,
        "epochs": args.epochs,
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| cell | hidden | recurrent params | updates | CPU s | validation nats/char |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        cells = [r["cell"], r["hidden"], f"{r['recurrent_parameters']:,}", r["updates"],
                 r["cpu_seconds"], f"{r['val_nats_per_char']:.4f}"]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    Path(args.out).with_suffix(".md").write_text(
        f"# LSTM variants on tinyshakespeare, {args.epochs} epochs each, equal parameters\n\n"
        + "\n".join(lines) + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    main()
