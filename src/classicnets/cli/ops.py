"""CLI commands ``conv``, ``pool``, ``shape`` and ``kernels``: convolution arithmetic on screen."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch
from rich.columns import Columns
from rich.console import Console
from rich.table import Table

from ..analysis import receptive_field
from ..errors import ClassicnetsError
from ..ops import (
    convolve2d,
    corr2d,
    explain_corr2d,
    explain_pool2d,
    list_kernels,
    pool2d,
)
from ..ops.explain import format_number
from ..ops.kernels import describe_kernel, get_kernel
from ..ops.separable import explain_groups, explain_separable

MATRIX_HELP = 'rows separated by ";", numbers by spaces or commas, e.g. "0 1 2; 3 4 5; 6 7 8"'


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "conv",
        help="cross-correlate a matrix with a kernel, every sum shown; or what a separable or "
        "grouped convolution costs and connects",
    )
    p.add_argument("--input", "-i", metavar="MATRIX", help=MATRIX_HELP)
    p.add_argument("--kernel", "-k", metavar="MATRIX", help=MATRIX_HELP)
    p.add_argument("--padding", "-p", default="0", metavar="P|PH,PW", help="zeros on each side")
    p.add_argument("--stride", "-s", default="1", metavar="S|SH,SW")
    p.add_argument("--explain", action="store_true", help="print the sum behind every output")
    p.add_argument(
        "--true-convolution", action="store_true", help="flip the kernel (signal processing)"
    )
    g = p.add_argument_group("separable and grouped convolutions (MobileNet, ShuffleNet)")
    g.add_argument(
        "--separable", action="store_true", help="multiply-adds: depthwise-separable vs standard"
    )
    g.add_argument("--groups", metavar="G", help="which inputs each output of G groups sees")
    g.add_argument(
        "--shuffle", action="store_true", help="with --groups: shuffle, then a second grouped conv"
    )
    g.add_argument("--kernel-size", metavar="D_K", help="with --separable: the kernel's side")
    g.add_argument("--in-channels", metavar="M", help="input channels")
    g.add_argument("--out-channels", metavar="N", help="output channels")
    g.add_argument("--feature-size", metavar="D_F", help="with --separable: output map's side")
    p.set_defaults(func=cmd_conv)

    p = sub.add_parser("pool", help="max or average pooling of a matrix, every window shown")
    p.add_argument("--input", "-i", required=True, metavar="MATRIX", help=MATRIX_HELP)
    p.add_argument("--size", "-k", default="2", metavar="K|KH,KW", help="window size (2)")
    p.add_argument("--stride", "-s", default=None, metavar="S|SH,SW", help="default: the size")
    p.add_argument("--padding", "-p", default="0", metavar="P|PH,PW")
    p.add_argument("--mode", default="max", choices=("max", "avg"))
    p.add_argument("--ceil-mode", action="store_true", help="round the output size up")
    p.add_argument("--explain", action="store_true", help="print every window")
    p.set_defaults(func=cmd_pool)

    p = sub.add_parser("shape", help="each layer's output shape and receptive field")
    p.add_argument("model", help="a registered model name")
    p.add_argument("--input", default=None, metavar="CxHxW", help="default: the model's own")
    p.set_defaults(func=cmd_shape)

    p = sub.add_parser("kernels", help="the classic filters applied to a photo, as a PNG grid")
    p.add_argument("--image", default="camera", help="camera, astronaut, coins or an image PATH")
    p.add_argument("--kernel", nargs="+", default=None, metavar="NAME", help="default: all")
    p.add_argument("--out", default="kernels.png", metavar="FILE.png", help="default: kernels.png")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--list", action="store_true", help="print the kernels and exit")
    p.set_defaults(func=cmd_kernels)


def parse_matrix(text: str, flag: str) -> torch.Tensor:
    """Parse ``"0 1 2; 3 4 5"`` (commas also fine) into a matrix: int64 if all whole, else float64.

    Raises:
        ClassicnetsError: for an empty matrix, a non-number or rows of different lengths.
    """
    rows = [r for r in re.split(r"[;\n]", text) if r.strip()]
    cells = [[c for c in re.split(r"[,\s]+", r.strip()) if c] for r in rows]
    if not cells:
        raise ClassicnetsError(f"{flag} is empty; give a matrix, {MATRIX_HELP}.")
    numbers: list[list[float]] = []
    for row in cells:
        try:
            numbers.append([float(c) for c in row])
        except ValueError:
            bad = next(c for c in row if not _is_number(c))
            raise ClassicnetsError(
                f"{flag}: '{bad}' is not a number; write {MATRIX_HELP}."
            ) from None
    for i, row in enumerate(numbers[1:], start=2):
        if len(row) != len(numbers[0]):
            raise ClassicnetsError(
                f"{flag}: row {i} has {len(row)} numbers but row 1 has {len(numbers[0])}; "
                "give every row the same length."
            )
    if all(v.is_integer() for row in numbers for v in row):
        return torch.tensor(numbers, dtype=torch.int64)
    return torch.tensor(numbers, dtype=torch.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_pair(text: str, flag: str) -> int | tuple[int, int]:
    """``"2"`` -> 2, ``"3,2"`` -> (3, 2); anything else raises one sentence."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) in (1, 2) and all(re.fullmatch(r"-?\d+", p) for p in parts):
        values = tuple(int(p) for p in parts)
        return values[0] if len(values) == 1 else values  # type: ignore[return-value]
    raise ClassicnetsError(f"{flag}: '{text}' is not N or H,W with integers; e.g. 2 or 3,2.")


def parse_input_size(text: str) -> tuple[int, int, int]:
    """``"1x28x28"`` (or ``"1,28,28"``) -> (1, 28, 28)."""
    parts = re.split(r"[x×,]", text.strip().lower())
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ClassicnetsError(
            f"--input: '{text}' is not CxHxW; give channels, height and width, e.g. 1x28x28."
        )
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def matrix_table(title: str, matrix: torch.Tensor) -> Table:
    """A rich table of a matrix with its row and column indices."""
    table = Table(title=title, header_style="dim", box=None, pad_edge=False, min_width=len(title))
    table.add_column("", style="dim", justify="right")
    for j in range(matrix.shape[1]):
        table.add_column(str(j), justify="right")
    for i, row in enumerate(matrix.tolist()):
        table.add_row(str(i), *(format_number(v) for v in row))
    return table


def _size(m: torch.Tensor) -> str:
    return "×".join(map(str, m.shape))


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


def _size_lines(x: torch.Tensor, kernel, padding, stride, y: torch.Tensor) -> list[str]:
    """How each output dimension comes out: floor((n + 2p - k) / s) + 1."""
    k, p, s = _pair(kernel), _pair(padding), _pair(stride)
    return [
        f"{axis}: ⌊({n} + 2×{p[i]} − {k[i]}) / {s[i]}⌋ + 1 = {y.shape[i]}"
        for i, (axis, n) in enumerate(zip(("height", "width"), x.shape, strict=True))
    ]


CHANNEL_FLAGS = ("--separable", "--groups", "--shuffle", "--kernel-size", "--in-channels")
CHANNEL_FLAGS += ("--out-channels", "--feature-size")


def _value(args: argparse.Namespace, flag: str):
    return getattr(args, flag[2:].replace("-", "_"))


def _given(args: argparse.Namespace, flags: tuple[str, ...]) -> list[str]:
    """The ``flags`` the user gave (a value, or a switch turned on)."""
    return [flag for flag in flags if _value(args, flag) not in (None, False)]


def parse_count(text: str, flag: str) -> int:
    """``"3"`` -> 3; anything but a positive integer raises one sentence."""
    if not re.fullmatch(r"\s*[+-]?\d+\s*", text):
        raise ClassicnetsError(f"{flag}: '{text}' is not a whole number; give one, e.g. 3.")
    if int(text) <= 0:
        raise ClassicnetsError(f"{flag} must be a positive integer, got {int(text)}.")
    return int(text)


def _cmd_channels(args: argparse.Namespace) -> int:
    """``conv --separable`` (the cost, every formula filled in) or ``conv --groups`` (which
    inputs each output sees, step by step)."""
    mode = "--separable" if args.separable else "--groups"
    if args.separable and args.groups is not None:
        raise ClassicnetsError("--separable and --groups are two questions; ask one at a time.")
    matrix = _given(args, ("--input", "--kernel"))
    if matrix:
        raise ClassicnetsError(
            f"Leave out {' and '.join(matrix)} with {mode}: it works from sizes alone, "
            "not from matrices."
        )
    if args.separable:
        needed = ("--kernel-size", "--in-channels", "--out-channels", "--feature-size")
        if args.shuffle:
            raise ClassicnetsError("--shuffle goes with --groups, not with --separable.")
    else:
        needed = ("--in-channels", "--out-channels")
        extra = _given(args, ("--kernel-size", "--feature-size"))
        if extra:
            raise ClassicnetsError(
                f"{' and '.join(extra)} {'go' if len(extra) > 1 else 'goes'} with --separable; "
                "which inputs a grouped convolution connects does not depend on them."
            )
    missing = [flag for flag in needed if _value(args, flag) is None]
    if missing:
        wanted = ", ".join(needed[:-1]) + " and " + needed[-1]
        raise ClassicnetsError(f"{mode} needs {wanted}; missing: {', '.join(missing)}.")
    sizes = [parse_count(_value(args, flag), flag) for flag in needed]
    if args.separable:
        lines = explain_separable(*sizes)
    else:
        groups = parse_count(args.groups, "--groups")
        lines = explain_groups(*sizes, groups, shuffle=args.shuffle)
        if not args.shuffle and groups > 1:
            lines.append("Add --shuffle to see ShuffleNet's channel shuffle mix the groups.")
    console = Console(highlight=False)
    for line in lines:
        console.print(line, markup=False)
    return 0


def cmd_conv(args: argparse.Namespace) -> int:
    if args.separable or args.groups is not None:
        return _cmd_channels(args)
    extra = _given(args, CHANNEL_FLAGS)
    if extra:
        goes_with = {"--shuffle": "--groups", "--kernel-size": "--separable"}
        goes_with["--feature-size"] = "--separable"
        raise ClassicnetsError(
            f"{extra[0]} goes with {goes_with.get(extra[0], '--separable or --groups')}, "
            "not with a matrix cross-correlation."
        )
    missing = [flag for flag in ("--input", "--kernel") if _value(args, flag) is None]
    if missing:
        raise ClassicnetsError(
            f'conv needs {" and ".join(missing)}, e.g. --input "0 1 2; 3 4 5; 6 7 8" --kernel '
            '"0 1; 2 3", or --separable or --groups for the channel arithmetic.'
        )
    x = parse_matrix(args.input, "--input")
    k = parse_matrix(args.kernel, "--kernel")
    padding, stride = parse_pair(args.padding, "--padding"), parse_pair(args.stride, "--stride")
    if args.true_convolution:
        y = convolve2d(x, k, padding=padding, stride=stride)
        used, title = k.flip(0, 1), "Y = X * K"
    else:
        y = corr2d(x, k, padding=padding, stride=stride)
        used, title = k, "Y = X ⋆ K"
    console = Console(highlight=False)
    tables = [matrix_table(f"X ({_size(x)})", x), matrix_table(f"K ({_size(k)})", k)]
    if args.true_convolution:
        tables.append(matrix_table("K flipped", used))
    tables.append(matrix_table(f"{title} ({_size(y)})", y))
    console.print(Columns(tables, padding=(0, 4)))
    if args.true_convolution:
        console.print("True convolution: cross-correlation with the kernel flipped both ways.")
    for line in _size_lines(x, tuple(k.shape), padding, stride, y):
        console.print(line)
    if args.explain:
        for line in explain_corr2d(x, used, padding=padding, stride=stride):
            console.print(line, soft_wrap=True)
    return 0


def cmd_pool(args: argparse.Namespace) -> int:
    x = parse_matrix(args.input, "--input")
    size = parse_pair(args.size, "--size")
    stride = size if args.stride is None else parse_pair(args.stride, "--stride")
    padding = parse_pair(args.padding, "--padding")
    kw = {"stride": stride, "padding": padding, "mode": args.mode, "ceil_mode": args.ceil_mode}
    y = pool2d(x, size, **kw)
    console = Console(highlight=False)
    name = f"{args.mode} pool {'×'.join(map(str, _pair(size)))}"
    console.print(
        Columns(
            [matrix_table(f"X ({_size(x)})", x), matrix_table(f"Y = {name} ({_size(y)})", y)],
            padding=(0, 4),
        )
    )
    if not args.ceil_mode:
        for line in _size_lines(x, size, padding, stride, y):
            console.print(line)
    if args.explain:
        for line in explain_pool2d(x, size, **kw):
            console.print(line, soft_wrap=True)
    return 0


def cmd_shape(args: argparse.Namespace) -> int:
    size = None if args.input is None else parse_input_size(args.input)
    rows = receptive_field(args.model, size)
    table = Table(title=f"{args.model}: output shape and receptive field per layer")
    for column in ("layer", "type", "output", "receptive field", "jump", "start"):
        justify = "left" if column in ("layer", "type") else "right"
        table.add_column(column, justify=justify, overflow="fold")  # fold: names stay whole

    def pair(values, fmt=str) -> str:
        return "—" if values is None else "×".join(fmt(v) for v in values)

    for row in rows:
        table.add_row(
            row.name,
            row.layer,
            pair(row.output_shape),
            pair(row.receptive_field),
            pair(row.jump),
            "—" if row.start is None else ", ".join(format_number(v) for v in row.start),
        )
    console = Console(highlight=False)
    console.print(table)
    last = [r for r in rows if r.receptive_field is not None][-1]
    if last is rows[0]:
        console.print(f"{args.model} has no convolution or pooling layer: no receptive field.")
        return 0
    size = rows[0].output_shape[1:]
    beyond = any(r > n for r, n in zip(last.receptive_field, size, strict=True))
    console.print(
        f"Each cell of {last.name} ({pair(last.output_shape)}) sees "
        f"{pair(last.receptive_field)} pixels of the {pair(rows[0].output_shape)} input"
        + (", reaching past its edges into the padding." if beyond else "."),
    )
    return 0


def cmd_kernels(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    names = args.kernel or list_kernels()
    for name in names:
        get_kernel(name)  # an unknown name fails here, before the photo is read
    if args.list:
        table = Table(title="classic kernels (cross-correlation)")
        for column in ("name", "matrix", "what it does"):
            table.add_column(column)
        for name in names:
            rows = get_kernel(name).tolist()
            matrix = "\n".join(" ".join(f"{format_number(v):>6}" for v in r) for r in rows)
            table.add_row(name, matrix, describe_kernel(name))
        console.print(table)
        return 0
    from ..viz.kernels import load_photo, plot_kernel_grid  # matplotlib only when drawing

    out = Path(args.out)
    if out.is_dir():
        raise ClassicnetsError(f"--out {out} is a folder; name a file, e.g. {out / 'kernels.png'}.")
    if out.suffix.lower() != ".png":
        raise ClassicnetsError(
            f"--out {out} must name a .png file, e.g. {out.with_suffix('.png')}."
        )
    if out.exists() and not args.force:
        raise ClassicnetsError(
            f"{out} exists; pass --force to replace it, or choose another --out."
        )
    image = load_photo(args.image)
    path = plot_kernel_grid(image, names, out, title=f"{args.image}: classic kernels")
    console.print(
        f"wrote {path} ({args.image}, {len(names)} kernels: {', '.join(names)})", soft_wrap=True
    )
    return 0
