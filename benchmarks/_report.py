"""The markdown beside a benchmark's JSON: its table, its command and the machine it ran on.

Each benchmark writes its ``.md`` through these functions; ``python benchmarks/_report.py``
writes them again from the committed JSON files (nothing is measured).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _machine(result: dict) -> str:
    m = result["machine"]
    gpu = f", {m['gpu']}" if m.get("gpu") else ", no GPU"
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads){gpu}; "
        f"torch {m['torch']}, Python {m['python']}. Run on {result['date']} with "
        f"`{result['command']}`."
    )


def _spread(s: dict, digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def throughput(result: dict) -> str:
    peak = result["matmul_peak_flops"]
    lines = [
        "# Training throughput: the default precision against float32",
        "",
        f"Default here: {result['default_precision']}. Batch {result['settings']['batch_size']}; "
        f"{result['settings']['pairs']} interleaved pairs (default, fp32, ...); ratio = median "
        "(range) of the per-pair ratios. Peak: the fastest measured square matrix product, "
        f"fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s. A share "
        "counts 6 FLOPs per multiply-accumulate (forward, backward twice); above 1 means the "
        "convolution kernels beat the square matrix product the peak was measured on.",
        "",
        "| model | input | default img/s | fp32 img/s | default / fp32 | share of fp32 peak "
        "(default, fp32) | share of bf16 peak (default) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        ips, share = r["images_per_second"], r["share_of_fp32_matmul_peak"]
        lines.append(
            f"| {r['model']} | {'×'.join(map(str, r['input']))} | {ips['default']:,.0f} | "
            f"{ips['fp32']:,.0f} | {_spread(r['ratio_default_over_fp32'])} | "
            f"{share['default']:.2f}, {share['fp32']:.2f} | "
            f"{r['share_of_bf16_matmul_peak_default']:.2f} |"
        )
    return "\n".join([*lines, "", _machine(result), ""])


def precision_accuracy(result: dict) -> str:
    lines = [
        "# Does the default precision cost accuracy?",
        "",
        f"Default (auto) here: {result['auto_here']}. The same seeds for both; mean ± standard "
        "deviation over the seeds; speed-up = float32 seconds / auto seconds.",
        "",
        "| case | metric | fp32 | auto | auto − fp32 | speed-up |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        mean, sd = r["mean"], r["stdev"]
        lines.append(
            f"| {r['case']} | {r['metric']} ({len(r['scores']['fp32'])} seeds) | "
            f"{mean['fp32']:.4f} ± {sd['fp32']:.4f} | {mean['auto']:.4f} ± {sd['auto']:.4f} | "
            f"{r['difference_auto_minus_fp32']:+.4f} | {r['speedup_auto_over_fp32']:.2f}× |"
        )
    return "\n".join([*lines, "", _machine(result), ""])


def trainer_overhead(result: dict) -> str:
    s = result["settings"]
    lines = [
        "# The trainer's overhead over a hand-written loop",
        "",
        f"One epoch of LeNet-5 (ReLU) on MNIST, batch {s['batch_size']}, {s['precision']}, "
        f"{s['pairs']} interleaved rounds; epoch time of `Model.fit` / the other loop, median "
        "(range). Below 1: classicnets is faster.",
        "",
        "| against | classicnets / it |",
        "|---|---:|",
    ]
    for name, spread in result["classicnets_over"].items():
        lines.append(f"| {name} | {_spread(spread, 3)} |")
    return "\n".join([*lines, "", _machine(result), ""])


def mnist_vs_keras(result: dict) -> str:
    first = result["rounds"][0]
    ours, plain, keras = first["classicnets_default"], first["plain_pytorch"], first["keras"]
    accuracy = result["test_accuracy"]
    lines = [
        "# MNIST LeNet-5: the course's Keras listing, a plain PyTorch loop, the default run",
        "",
        f"{result['settings']['pairs']} interleaved rounds; speed-ups are median (range) of the "
        "per-round ratios. Keras's 50 epochs are estimated from "
        f"{result['settings']['keras_epochs']} measured epochs a round.",
        "",
        "| | what | seconds (round 1) | test accuracy |",
        "|---|---|---:|---:|",
        f"| classicnets | `{ours['command']}` ({ours['settings']['recipe']}, "
        f"{ours['settings']['precision']}) | {ours['seconds']} | "
        f"{min(accuracy['classicnets_default']):.4f}–{max(accuracy['classicnets_default']):.4f} |",
        f"| plain PyTorch | {plain['recipe']}, to the same validation accuracy "
        f"({plain['epochs']} epochs) | {plain['seconds']} | "
        f"{min(accuracy['plain_pytorch']):.4f}–{max(accuracy['plain_pytorch']):.4f} |",
        f"| Keras {keras['keras']} | the course's listing, 50 epochs (estimated) | "
        f"{keras['estimated_50_epoch_seconds']} | "
        f"{result['course_reports']['test_accuracy']} (the course's) |",
        "",
        f"Speed-up over Keras's 50 epochs: {_spread(result['speedup_over_keras_50_epochs'], 1)}×;"
        f" over the plain loop to the same accuracy: "
        f"{_spread(result['speedup_over_plain_pytorch'])}×.",
    ]
    return "\n".join([*lines, "", _machine(result), ""])


def compile_speed(result: dict) -> str:
    lines = [
        "# `--compile`: whole runs, compile time included",
        "",
        f"{result['settings']['pairs']} interleaved rounds (eager, compiled, ...); seconds of the "
        "whole run (loading, compiling, training, the test); eager / compiled is the median "
        "(range) of the per-round ratios: above 1, compiling is faster.",
        "",
        "| case | eager s | compiled s | eager / compiled | test accuracy eager, compiled |",
        "|---|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        eager, compiled = r["runs"]["eager"], r["runs"]["compiled"]
        median = {k: statistics.median(x["seconds"] for x in v) for k, v in r["runs"].items()}
        lines.append(
            f"| {r['case']} | {median['eager']:.1f} | {median['compiled']:.1f} | "
            f"{_spread(r['eager_over_compiled'])} | {eager[0]['test_accuracy']:.4f}, "
            f"{compiled[0]['test_accuracy']:.4f} |"
        )
    verdict = "on" if result["compile_by_default"] else "off (opt-in with `--compile`)"
    lines += [
        "",
        "The first compiled run of a case compiles from nothing; the later ones reuse "
        "inductor's on-disk cache, as a user's second run would, so the median favours "
        f"compiling. So `--compile` is {verdict} by default.",
    ]
    return "\n".join([*lines, "", _machine(result), ""])


def frontier_accuracy(result: dict) -> str:
    rows = sorted(result["rows"], key=lambda r: -r["test_accuracy"])
    first = rows[0]["settings"]
    lines = [
        f"# CIFAR-10 accuracy after {result['budget']} of training per model",
        "",
        "Written by `benchmarks/frontier_accuracy.py` (settings in its docstring): each model "
        "with its default recipe and `auto` precision, one cycle over the budget, "
        f"{first['train_examples']:,} training images; the weights kept are the best on "
        f"{first['val_examples']:,} validation images, scored once on the first "
        f"{first['test_examples']:,} test images. `epochs`: what the budget reached. Best "
        "first; light-weight families marked *.",
        "",
        "| model | family | test acc | val (kept) | epochs | images trained | parameters | MACs "
        "| px | optimizer, lr, batch | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    light = {"SqueezeNet", "MobileNet", "ShuffleNet", "GhostNet", "EfficientNet"}
    for r in rows:
        mark = "*" if r["family"] in light else ""
        lines.append(
            f"| {r['model']}{mark} | {r['family']} | {r['test_accuracy']:.4f} | "
            f"{r['val_accuracy']:.4f} | {r['epochs']:g} | {r['images_trained']:,} | "
            f"{r['params']:,} | {r['macs'] / 1e6:,.1f} M | {r['image_size']} | "
            f"{r['optimizer']} {r['lr']:g}, {r['batch_size']} | {r['train_wall_seconds']:.0f} |"
        )
    m = rows[0]["machine"]
    dates = ", ".join(sorted({r["date"] for r in rows}))
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({first['torch_threads']} torch threads); "
        f"torch {m['torch']}. Run on {dates} with `{first['command']}`.",
        "",
    ]
    return "\n".join(lines)


RENDER = {
    "compile_speed": compile_speed,
    "throughput": throughput,
    "precision_accuracy": precision_accuracy,
    "trainer_overhead": trainer_overhead,
    "mnist_vs_keras": mnist_vs_keras,
    "frontier_accuracy": frontier_accuracy,
}


def main() -> None:
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        render = RENDER.get(result.get("benchmark"))
        if render is None:
            continue
        try:
            path.with_suffix(".md").write_text(render(result))
        except KeyError as missing:
            print(f"{path.name}: no {missing} (written by an older script?)", file=sys.stderr)
            continue
        print(f"wrote {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
