"""Which number format training computes in, chosen by the machine.

``auto`` takes bfloat16 autocast with the channels-last memory layout where the hardware has
bfloat16 arithmetic (CPUs with AVX512-BF16 or AMX, CUDA GPUs from Ampere on), float16 autocast
with a gradient scaler on CUDA GPUs without bfloat16, and float32 elsewhere. Measured on a
2-core AMD EPYC with AVX512-BF16 (``benchmarks/throughput.py``): ResNet-18 at 32 px trains 2.5x
as many images per second in bf16 + channels-last as in float32, VGG-11-BN 1.7x, LeNet-5 1.7x
(mostly the layout). Weights, optimizer state and the loss stay float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ClassicnetsError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """A resolved choice: ``name`` is fp32, bf16 or fp16; ``reason`` says why, for the user."""

    name: str
    channels_last: bool
    reason: str

    def describe(self) -> str:
        layout = " + channels-last" if self.channels_last else ""
        what = {"fp32": "float32", "bf16": "bfloat16 autocast", "fp16": "float16 autocast"}
        return f"{what[self.name]}{layout} ({self.reason})"


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags as Linux lists them; empty where the file is not there."""
    try:
        text = Path(path).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_bf16_features() -> list[str]:
    """The CPU's bfloat16 instruction sets (AVX512-BF16, AMX-BF16), by their flag names."""
    flags = cpu_flags()
    return [f for f in ("avx512_bf16", "amx_bf16") if f in flags]


def resolve_precision(requested: str, device: torch.device, images: bool = True) -> Precision:
    """The precision ``requested`` (``auto`` or a format) means on ``device``.

    Args:
        requested: one of :data:`PRECISIONS`.
        device: where training runs.
        images: whether the inputs are images (channels-last applies to 4-D tensors only).

    Raises:
        ClassicnetsError: a format the hardware lacks (bf16 on a CPU without it, fp16 on a
            CPU), in one sentence saying what it has and what to use.
    """
    if requested not in PRECISIONS:
        raise ClassicnetsError(
            f"Unknown precision '{requested}'; use one of {', '.join(PRECISIONS)}."
        )
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        name = torch.cuda.get_device_name(device)
        if requested == "bf16" and not bf16:
            raise ClassicnetsError(
                f"The GPU {name} has no bfloat16 arithmetic; use --precision fp16 (or auto, "
                "which picks it)."
            )
        if requested == "auto":
            requested, reason = ("bf16", f"auto: {name} has bfloat16") if bf16 else (
                "fp16", f"auto: {name} has no bfloat16")  # fmt: skip
        else:
            reason = "asked for"
    elif requested == "fp16":
        raise ClassicnetsError(
            f"float16 training needs a CUDA GPU, and this is a {device.type.upper()}; use "
            "--precision auto (bfloat16 where the CPU has it) or fp32."
        )
    elif device.type == "cpu":
        features = cpu_bf16_features()
        if requested == "bf16" and not features:
            raise ClassicnetsError(
                "This CPU has no bfloat16 instructions (neither AVX512-BF16 nor AMX), so "
                "bfloat16 would be emulated and slower; use --precision fp32 (or auto)."
            )
        if requested == "auto":
            if features:
                requested, reason = "bf16", f"auto: this CPU has {' and '.join(features)}"
            else:
                requested, reason = "fp32", "auto: this CPU has no bfloat16 instructions"
        else:
            reason = "asked for"
    else:  # mps and others: float32 unless asked
        if requested == "auto":
            requested, reason = "fp32", f"auto: {device.type}"
        else:
            reason = "asked for"
    return Precision(requested, images and requested != "fp32", reason)
