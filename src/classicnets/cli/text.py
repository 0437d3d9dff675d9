"""CLI for language models: ``generate``, and ``train`` when the model is a sequence model.

``classicnets train char_lstm --data tinyshakespeare`` is parsed by the ``train`` command
(:mod:`classicnets.cli_train`), which hands sequence models to :func:`cmd_train_text`.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ClassicnetsError
from .train import announce, check_resume_flags, note_printer, report_run

# train flags that only language models take, and the image flags they do not
TEXT_FLAGS = ("seq_len", "window", "hidden", "layers")
IMAGE_FLAGS = ("image_size", "augment", "label", "label_smoothing", "channels_last", "limit")
# train flags shared with image runs that map onto TextConfig fields of the same name
SHARED_FLAGS = (
    "model",
    "data",
    "data_dir",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "seed",
    "device",
    "bf16",
    "compile",
    "out",
)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="stream text sampled from a trained language model")
    p.add_argument("run_dir", help="a run directory (or checkpoint) of a language model")
    p.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="below 1: safer, more repetitive text; above 1: wilder (default 1)",
    )
    p.add_argument("--top-k", type=int, default=None, help="sample among the K likeliest only")
    p.add_argument("--seed", type=int, default=None, help="the same seed gives the same text")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_generate)


def is_text_training(args: argparse.Namespace) -> bool:
    """Whether ``classicnets train`` was asked to train (or resume) a language model.

    Raises:
        ClassicnetsError: text-only flags given for an image model.
    """
    from ..models import model_info
    from ..runs.text import read_text_config

    if args.resume:
        if read_text_config(args.resume) is not None:
            return True
    elif args.model is not None and "sequence" in model_info(args.model).tags:
        return True
    given = [f for f in TEXT_FLAGS if getattr(args, f, None) is not None]
    if given:
        raise ClassicnetsError(
            f"--{given[0].replace('_', '-')} applies to language models only (char_rnn, "
            f"char_lstm, char_gru, char_transformer, word_lstm), not to "
            f"{args.model or 'lenet5'}."
        )
    return False


def cmd_train_text(args: argparse.Namespace) -> int:
    """``classicnets train`` for a language model: a new run, or ``--resume`` of one."""
    from ..runs.text import TextConfig, resume_text_run, train_text_run

    image_only = [f for f in IMAGE_FLAGS if getattr(args, f, None) is not None]
    if image_only:
        raise ClassicnetsError(
            f"--{image_only[0].replace('_', '-')} applies to image models only; language "
            "models take --seq-len, --window, --hidden and --layers."
        )
    given = {k: getattr(args, k) for k in SHARED_FLAGS + TEXT_FLAGS}
    given = {k: v for k, v in given.items() if v is not None}
    if args.resume:
        check_resume_flags(given)
        result = resume_text_run(args.resume, epochs=args.epochs, device=args.device)
    else:
        config = TextConfig(**given)
        console = announce(config.model, config.data, config.epochs)
        result = train_text_run(config, notify=note_printer(console))
    return report_run(
        result,
        f"validation loss {result.val_loss:.4f} nats/token (perplexity "
        f"{result.val_perplexity:.2f}, {result.epochs} epochs, {result.seconds:.1f} s)",
        args.json,
    )


def cmd_evaluate_text(args: argparse.Namespace) -> int:
    """``classicnets evaluate`` for a language model's run."""
    from ..runs.text import evaluate_text_run

    if args.tta:
        raise ClassicnetsError("--tta mirrors images; a language model's run has none.")
    results = evaluate_text_run(
        args.run_dir, data=args.data, data_dir=args.data_dir, split=args.split, device=args.device
    )
    if args.json:
        print(json.dumps({"run_dir": args.run_dir, **results}))
        return 0
    accuracy = results.get("accuracy")
    print(
        f"{results['data']} ({args.split}, {results['tokens']:,} tokens): loss "
        f"{results['loss']:.4f} nats/token, {results['bits_per_token']:.4f} bits/token, "
        f"perplexity {results['perplexity']:.2f}"
        + (f", next-token accuracy {accuracy:.4f}" if accuracy is not None else "")
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from ..train import SequenceModel, load

    model = load(args.run_dir, device=args.device)
    if not isinstance(model, SequenceModel):
        raise ClassicnetsError(
            f"{args.run_dir} holds an image model; generate needs a language model's run."
        )
    pieces = model.generate(  # checks every argument before anything is printed
        args.prompt, args.length, temperature=args.temperature, top_k=args.top_k, seed=args.seed
    )
    sys.stdout.write(args.prompt)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
