"""Part-of-speech tagging of the Turkish Web Treebank (``twt``: 4,851 sentences, 14 universal
tags, shipped by the PyPI package ``turkish-treebanks``): ``bilstm_tagger`` and
``bilstm_crf_tagger`` (Huang, Xu & Yu 2015) trained through the run pipeline, the very path of
``classicnets train bilstm_tagger``, for a fixed number of epochs.

Both read the treebank's fixed split (of every ten sentences, eight train, one validates, one
tests); validation macro F1 picks the kept checkpoint, which is scored once on the test split:
per-token accuracy and the macro F1 over the tags (every tag counts alike, so rare ones weigh as
much as nouns). Seconds are the whole run's (data, training, validation, test).

Run:   python benchmarks/tagger.py            (about 3 minutes on a busy 2-core CPU)
Smoke: python benchmarks/tagger.py --smoke    (seconds: 100 sentences a split, one epoch;
       written to the temporary folder)
Writes benchmarks/results/tagger.json and tagger.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from _machine import machine

from classicnets.runs import TaggingRunConfig, train

RESULTS = Path(__file__).parent / "results"
# The models' own sizes (embedding 100, 128 units each way, dropout 0.5), so that the recipe
# these settings give (runs/recipe_table.py) is what `classicnets train bilstm_tagger` does. A
# probe with half the widths (dropout 0.3) reached 92.8 % test accuracy, macro F1 0.749, in 10
# epochs at these rates.
SETTINGS = {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "schedule": "constant", "epochs": 8}
MODELS = ("bilstm_tagger", "bilstm_crf_tagger")


def run(model: str, args: argparse.Namespace, folder: Path) -> dict:
    settings = dict(SETTINGS)
    if args.smoke:
        settings |= {"epochs": 1, "max_sentences": 100}
    config = TaggingRunConfig(
        model=model, data="twt", device="cpu", out=str(folder / model), **settings
    )
    result = train(config, progress=False, notify=print, announce=print)
    with open(result.run_dir / "metrics.csv") as f:
        epochs = [
            {k: round(float(v), 4) for k, v in row.items() if k == "epoch" or k.startswith("val_")}
            for row in csv.DictReader(f)
        ]
    print(result.summary(), flush=True)
    return {
        "model": model,
        "settings": settings,
        "test_accuracy": round(result.test["accuracy"], 4),
        "test_macro_f1": round(result.test["f1"], 4),
        "test_loss": round(result.test["loss"], 4),
        "test_tokens": result.test["tokens"],
        "best_epoch": result.best_epoch,
        "epochs": epochs,
        "seconds": round(result.seconds, 1),
    }


def markdown(results: dict) -> str:
    lines = [
        "# Part-of-speech tagging: the Turkish Web Treebank (twt)",
        "",
        "Test split (one sentence in ten), kept checkpoint chosen by validation macro F1.",
        "",
        "| model | epochs | best epoch | test accuracy | test macro F1 | seconds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["models"].values():
        lines.append(
            f"| {r['model']} | {r['settings']['epochs']} | {r['best_epoch']} "
            f"| {r['test_accuracy']:.4f} | {r['test_macro_f1']:.4f} | {r['seconds']:.0f} |"
        )
    m = results["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads); torch "
        f"{m['torch']}. Run on {results['date']} with `{results['command']}`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(tempfile.gettempdir()) if args.smoke else RESULTS  # a smoke run keeps no result
    stem = "tagger_smoke" if args.smoke else "tagger"
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "command": " ".join(["python benchmarks/tagger.py", *sys.argv[1:]]),
        "machine": machine(),
        "models": {},
    }
    with tempfile.TemporaryDirectory() as folder:  # the run directories are not kept
        for model in MODELS:
            results["models"][model] = run(model, args, Path(folder))
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    (out / f"{stem}.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
