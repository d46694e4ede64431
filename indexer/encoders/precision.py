"""Which precision the passage engine runs at: decided once per process from the hardware.

bf16 weights pay only where the CPU multiplies bf16 natively. Measured on an Intel Xeon with AMX
(2 cores, 256 real passages, issue 18): 19.5 passages/s in fp32, 57.6 with the model's weights in
bf16 and pooling + normalisation in fp32 (cosine to fp32 ≥ 0.99997); a bf16 matmul ran at 680
GFLOP/s against 149 in fp32. On a CPU without a fast bf16 path bf16 is slower than fp32 (AMD EPYC
without the flags, `bench/encoder_speed.py`). A GPU runs fp16.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.errors import ArchiveError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PRECISION_ENV = "ARCHIVE_PRECISION"

FAST_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
"""/proc/cpuinfo flags of a CPU that multiplies bf16 natively (Intel AMX, AVX512-BF16 on Xeon and Zen 4)."""

MIN_BF16_SPEEDUP = 1.5
"""A bf16 matmul must beat fp32 by this much before auto picks bf16: the matmuls are most but not
all of a forward pass, and bf16 weights with fp32 pooling gained 2.95× where the matmul gained
4.6× (issue 18's Xeon); a flag the CPU reports but runs slowly must not make ingest slower."""


class PrecisionError(ArchiveError):
    """A precision that is not one of PRECISIONS, or that this machine cannot run (fp16 without a GPU)."""


@dataclass(frozen=True)
class Precision:
    dtype: str
    """fp32, bf16 or fp16: what the model's weights run in (pooling and normalisation stay fp32)."""
    device: str
    """cpu or cuda."""
    reason: str

    def __str__(self) -> str:
        return f"{self.dtype} ({self.device}: {self.reason})"


def requested(precision: str | None) -> tuple[str, str]:
    """The precision asked for, and by whom: the argument, else $ARCHIVE_PRECISION, else auto."""
    if precision is not None:
        value, source = precision, "asked for"
    else:
        value, source = os.environ.get(PRECISION_ENV) or "auto", PRECISION_ENV
    value = value.strip().lower()
    if value not in PRECISIONS:
        raise PrecisionError(f"unknown precision {value!r} ({source}); choose one of {', '.join(PRECISIONS)}")
    return value, source


def choose(precision: str | None) -> Precision:
    """Decide the device and precision for the passage engine (imports torch)."""
    value, source = requested(precision)
    import torch

    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name()
        return Precision("fp16", "cuda", gpu) if value == "auto" else Precision(value, "cuda", f"{gpu}, {source}")
    if value == "fp16":
        raise PrecisionError("fp16 needs a CUDA GPU and this machine has none; use bf16 or fp32")
    if value != "auto":
        return Precision(value, "cpu", source)
    flags = sorted(cpu_flags() & FAST_BF16_FLAGS)
    if not flags:
        return Precision("fp32", "cpu", "no AMX/AVX512-BF16")
    speedup = bf16_matmul_speedup()
    dtype = "bf16" if speedup >= MIN_BF16_SPEEDUP else "fp32"
    return Precision(dtype, "cpu", f"{', '.join(flags)}; bf16 matmul {speedup:.1f}× fp32")


def cpu_flags() -> set[str]:
    """The first processor's flags in /proc/cpuinfo (empty where there is none, as on macOS)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


@cache
def bf16_matmul_speedup() -> float:
    """fp32 time over bf16 time for one FFN-sized matmul (512 tokens × 384 → 1536, e5-small's
    intermediate layer), best of 5 each after a warm-up: about 0.1 s, once per process."""
    import torch

    def best(dtype: torch.dtype) -> float:
        a = torch.randn(512, 384).to(dtype)
        b = torch.randn(384, 1536).to(dtype)
        a @ b
        times = []
        for _ in range(5):
            started = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - started)
        return min(times)

    return best(torch.float32) / best(torch.bfloat16)
