"""CLI command ``generate``: what a trained sequence model makes of text.

A language model streams text it samples (``--prompt``); an encoder-decoder translates
``--text`` (greedy, or beam search with ``--beam``); a tagger prints each token of ``--text``
with its tag. One command applies every kind of text run to text, so there is no second verb to
learn. They train, resume and evaluate through the same ``train`` and ``evaluate`` commands as
image models (:mod:`classicnets.cli.train`, :mod:`classicnets.cli.evaluate`).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ClassicnetsError


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="sample text from a language model, translate with an encoder-decoder, or tag",
        description="A language model's run continues --prompt; an encoder-decoder's run "
        "translates --text; a tagger's run prints each token of --text as token/TAG.",
    )
    p.add_argument("run_dir", help="a run directory (or checkpoint) of a sequence model")
    p.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    p.add_argument(
        "--text", default=None, help="encoder-decoders and taggers: the text to translate or tag"
    )
    p.add_argument(
        "--beam",
        type=int,
        default=1,
        help="encoder-decoders: beam width (default 1: greedy decoding)",
    )
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


def cmd_generate(args: argparse.Namespace) -> int:
    from ..runs import load_run
    from ..train import Seq2SeqModel, SequenceModel, TaggingModel

    if isinstance(args.beam, bool) or args.beam < 1:
        raise ClassicnetsError(f"--beam must be a beam width of at least 1, got {args.beam}.")
    _, model = load_run(args.run_dir, device=args.device)
    if isinstance(model, Seq2SeqModel | TaggingModel):
        if args.text is None or not args.text.strip():
            what = "translate" if isinstance(model, Seq2SeqModel) else "tag"
            raise ClassicnetsError(f"Give the text to {what} with --text, e.g. --text '12345'.")
        if isinstance(model, Seq2SeqModel):
            print(model.translate([args.text], beam_width=args.beam)[0])
        else:
            tokens = args.text.split()
            tags = model.tag([tokens])[0]
            print(" ".join(f"{w}/{t}" for w, t in zip(tokens, tags, strict=True)))
        return 0
    if not isinstance(model, SequenceModel):
        raise ClassicnetsError(
            f"{args.run_dir} holds an image model; generate needs a language model's, an "
            "encoder-decoder's or a tagger's run."
        )
    if args.text is not None:
        raise ClassicnetsError(
            "--text is for encoder-decoders and taggers; a language model continues --prompt."
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
