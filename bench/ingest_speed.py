"""Ingest speed: a fresh archive of the shared corpus built in-process through `Archive.ingest`.

Run: .venv/bin/python bench/ingest_speed.py [--corpus DIR_OR_FILE ...] [--archive DIR]

Figures, all from one run:
- pages per second of the whole run (open + model load + ingest + derived indexes);
- passages embedded per second of encoder time (`report.embedded / report.encoder_seconds`;
  the model is loaded, and timed apart, before the ingest starts, so this is the embedding rate);
- the share of ingest time outside the encoder (`1 - encoder_seconds / seconds`): extraction runs
  in worker processes alongside embedding, so this is the time the encoder was not busy, not the
  time extraction took;
- peak resident memory: of this process (exact), and of the whole process tree summed (sampled
  from /proc: the extraction workers run beside this process, and getrusage gives one child's peak, not the sum);
- CPU seconds of the process tree (sampled likewise), which other load on a shared machine does
  not inflate the way it inflates wall time.

The default corpus is ../shared/corpus/{pdf,text,plooi_testdata}; reference_text/ is left out
because it is pdftotext output of the same PDFs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from bench.results import add_output_arguments, publish  # noqa: E402

SHARED = Path(os.environ.get("ARCHIVE_SHARED", ROOT.parent / "shared"))
"""../shared beside the repository, as the tests read it; $ARCHIVE_SHARED elsewhere."""
CORPUS = SHARED / "corpus"
DEFAULT_CORPUS = [CORPUS / "pdf", CORPUS / "text", CORPUS / "plooi_testdata"]


@dataclass
class IngestFigures:
    corpus: list[str]
    documents: int
    failed: int
    pages: int
    passages: int
    embedded: int
    model_load_s: float
    """Loading the sentence-transformers model (and embedding one warm-up passage)."""
    ingest_s: float
    """`IngestReport.seconds`: discover, extract, embed, store."""
    encoder_s: float
    indexes_s: float
    """The rest of `Archive.ingest`: bringing FAISS and the lexical index up to date."""
    wall_s: float
    """Everything: open, model load, `Archive.ingest`."""
    cpu_s: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    archive_mb: float
    precision: str
    """What the encoder ran in and why (`IngestReport.precision`), e.g. "fp32 (cpu: no AMX/AVX512-BF16)"."""

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def embedded_per_s(self) -> float:
        return self.embedded / self.encoder_s if self.encoder_s else 0.0

    @property
    def outside_encoder(self) -> float:
        return 1 - self.encoder_s / self.ingest_s if self.ingest_s else 0.0


def measure_ingest(paths: Sequence[Path], archive_dir: Path, *, workers: int | None = None, quiet: bool = False) -> IngestFigures:
    """Ingest `paths` into the new archive `archive_dir` and time it; raise SystemExit if it is not empty."""
    if archive_dir.exists() and any(archive_dir.iterdir()):
        raise SystemExit(f"{archive_dir} is not empty: ingest speed needs a fresh archive")

    def progress(done: int, total: int, path: str) -> None:
        if not quiet and (done == total or done % 25 == 0):
            print(f"  {done}/{total} files  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

    started = time.perf_counter()
    with ProcessTree() as tree, Archive.open(archive_dir, create=True) as archive:
        _ = archive.encoder.dim  # the query engine first, as Archive.open does
        archive.encoder.passages(["passage used to load the model"])
        loaded = time.perf_counter()
        report = archive.ingest(list(paths), workers=workers, progress=progress)
        wall = time.perf_counter() - started
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    for failure in report.failed:
        print(f"  failed: {failure.path} ({failure.stage}): {failure.error}", file=sys.stderr)
    return IngestFigures(
        corpus=[str(p) for p in paths],
        documents=len(report.added) + len(report.updated),
        failed=len(report.failed),
        pages=report.pages,
        passages=report.passages,
        embedded=report.embedded,
        model_load_s=loaded - started,
        ingest_s=report.seconds,
        encoder_s=report.encoder_seconds,
        indexes_s=wall - (loaded - started) - report.seconds,
        wall_s=wall,
        cpu_s=tree.cpu_seconds,
        peak_rss_mb=own_peak / 2**20,
        peak_tree_rss_mb=max(tree.peak_rss, own_peak) / 2**20,  # a sample can miss the peak; the tree holds this process
        archive_mb=sum(f.stat().st_size for f in archive_dir.rglob("*") if f.is_file()) / 2**20,
        precision=report.precision or archive.encoder.precision,
    )


class ProcessTree:
    """This process and its descendants, sampled from /proc in a thread: peak summed RSS, CPU seconds.

    The extraction workers run beside this process (indexer.workers), so what matters is the sum
    of their memory at one moment, which getrusage(RUSAGE_CHILDREN), the peak of one child, does
    not give. Sampling misses processes that live less
    than one interval and the last interval of each, and counts shared pages once per process.
    """

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.peak_rss = 0
        self._cpu_ticks: dict[int, int] = {}
        """Last utime + stime seen per descendant (pid reuse within one run is ignored)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu_start = 0.0

    def __enter__(self) -> ProcessTree:
        own = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu_start = own.ru_utime + own.ru_stime
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        descendants = sum(self._cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
        return own.ru_utime + own.ru_stime - self._cpu_start + descendants

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        parent, rss, ticks = {}, {}, {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while we looked
            pid = int(entry.name)
            parent[pid], rss[pid] = int(fields[1]), int(fields[21]) * resource.getpagesize()
            ticks[pid] = int(fields[11]) + int(fields[12])
        me = os.getpid()
        tree, total, todo = set(), 0, [me]
        while todo:
            pid = todo.pop()
            if pid in tree:
                continue
            tree.add(pid)
            total += rss.get(pid, 0)
            if pid != me and pid in ticks:
                self._cpu_ticks[pid] = max(self._cpu_ticks.get(pid, 0), ticks[pid])
            todo.extend(child for child, ppid in parent.items() if ppid == pid)
        self.peak_rss = max(self.peak_rss, total)


def describe_corpus(paths: Sequence[str | Path]) -> str:
    """Corpus paths, shortened relative to the shared corpus where they are under it."""
    return ", ".join(f"`{_short(p)}`" for p in paths)


def _short(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(CORPUS.resolve()))
    except ValueError:
        return str(path)


def table(f: IngestFigures) -> list[str]:
    return [
        "| figure | value |",
        "|---|---:|",
        f"| documents ingested (failed) | {f.documents:,} ({f.failed}) |",
        f"| pages | {f.pages:,} |",
        f"| passages (embedded: new texts) | {f.passages:,} ({f.embedded:,}) |",
        f"| **pages/s** (whole run) | **{f.pages_per_s:.2f}** |",
        f"| **passages/s embedded** (encoder time) | **{f.embedded_per_s:.1f}** |",
        f"| encoder precision | {f.precision} |",
        f"| **share of ingest outside the encoder** | **{f.outside_encoder:.0%}** |",
        f"| total wall time | {f.wall_s:,.1f} s ({f.wall_s / 60:.1f} min) |",
        f"| model load | {f.model_load_s:.1f} s |",
        f"| ingest (`IngestReport.seconds`) / encoder | {f.ingest_s:,.1f} s / {f.encoder_s:,.1f} s |",
        f"| derived indexes after ingest | {f.indexes_s:.1f} s |",
        f"| CPU time, process tree | {f.cpu_s:,.0f} s |",
        f"| peak RSS: this process / process tree summed | {f.peak_rss_mb:,.0f} MiB / {f.peak_tree_rss_mb:,.0f} MiB |",
        f"| archive on disk | {f.archive_mb:,.1f} MiB |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT_CORPUS, help="folders or files to ingest")
    parser.add_argument("--archive", type=Path, help="build the archive here and keep it (default: a temporary one)")
    parser.add_argument("--workers", type=int, help="extraction processes (default: Archive.ingest's)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_output_arguments(parser)
    args = parser.parse_args()
    scratch = None if args.archive else Path(tempfile.mkdtemp(prefix="archive-bench-ingest-"))
    try:
        figures = measure_ingest(args.corpus, args.archive or scratch / "archive", workers=args.workers, quiet=args.quiet)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    body = [
        f"Corpus: {describe_corpus(figures.corpus)}. A fresh archive, ingested in-process with `Archive.ingest`"
        " (default model, default workers); the machine is shared, so CPU time is given beside wall time.",
        "",
        *table(figures),
        "",
        "Passages/s counts passages sent to the encoder over encoder time (model already loaded). The share outside"
        " the encoder is `1 - encoder_seconds / seconds`; extraction runs in worker processes alongside embedding.",
    ]
    publish(args, "ingest", "Ingest speed (`bench/ingest_speed.py`)", body)


if __name__ == "__main__":
    main()
