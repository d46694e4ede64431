"""One named section of bench/RESULTS.md per benchmark, stamped with the date and the machine.

A section runs from a line `<!-- NAME -->` to the next line `<!-- NAME -->` (the convention of
bench/scale.py), so each script rewrites only its own part of the file and leaves the others as
they are. A section that is not there yet is appended.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from indexer.encoders.precision import FAST_BF16_FLAGS, cpu_flags, cpu_model

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """Date (UTC), CPU model and the flags that decide the encoder's precision (issue 18: figures
    from an AMX Xeon and an AMD EPYC are not comparable), cores, RAM, Python and torch versions,
    and the load average now."""
    flags = sorted(f for f in cpu_flags() if f in FAST_BF16_FLAGS or f.startswith("amx_") or f == "avx512f")
    cpu = f"{cpu_model()} ({', '.join(flags) or 'no AVX-512/AMX'})"
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        torch = metadata.version("torch")  # the version only: importing torch costs seconds
    except metadata.PackageNotFoundError:
        torch = "absent"
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM"
        f" · Python {platform.python_version()}, torch {torch} · load average {load} at the end of the run"
    )


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max of a list of latencies (nearest-rank, as archive/evaluate.py)."""
    ordered = sorted(values_ms)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
    }


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to update (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")


def publish(args: argparse.Namespace, name: str, title: str, body: Sequence[str]) -> str:
    """Print the section and, unless --no-write, put it into the results file; return its text."""
    mark = f"<!-- {name} -->"
    section = "\n".join([mark, f"## {title}", "", machine(), "", *body, mark])
    print(section)
    if not args.no_write:
        write_section(args.results, mark, section)
        print(f"\nwrote the '{name}' section of {args.results}")
    return section


def write_section(path: Path, mark: str, section: str) -> None:
    """Replace the text from `mark` to the next `mark` with `section` (which carries both), or append it.

    Written through a temporary file and a rename, so a reader never sees half a file.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if mark in text:
        head, _, rest = text.partition(mark)
        _, closed, tail = rest.partition(mark)
        if not closed:
            raise ValueError(f"{path}: {mark} opens a section that never closes; fix the file by hand")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
