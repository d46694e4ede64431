"""Ingest on Ray: passages/s with 1 and 2 encoder workers on this machine, and what 10 M passages
would take on N machines at the measured rate per worker.

Run: .venv/bin/python bench/ray_ingest.py [--corpus DIR ...] [--workers 1 2] [--no-write]

Each worker count runs in a process of its own (Ray's driver remembers the code it shipped to a
cluster and would not ship it again to the next one) with a new local Ray instance of workers + 1 CPUs (one encoder actor per CPU
and one CPU for extraction tasks, as `indexer.ray_ingest` divides a cluster) and a fresh archive.
The actors have loaded their model before the clock starts, so the figure is the ingest's
steady rate: passages stored over `IngestReport.seconds` (extract, split, embed, write). The same
files through the local executor (2 extraction processes, torch on every core) are the baseline.

The machine is shared, so wall time depends on what else runs; CPU time does much less. Beside
passages/s the table gives passages per CPU second of the encoders (the actors' process time, or
this process's for the local run, which also splits and writes). The estimate scales that per-core
rate, and the wall-time scaling measured from 1 to 2 workers; it is arithmetic, not a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from bench.results import add_output_arguments, publish  # noqa: E402
from indexer.ingest import EMBED_BATCH, ingest  # noqa: E402
from indexer.report import IngestReport  # noqa: E402

SHARED = Path(os.environ.get("ARCHIVE_SHARED", ROOT.parent / "shared"))
DEFAULT_CORPUS = [SHARED / "corpus" / "pdf" / "aanhangsel_kamervragen"]
"""22 PDFs, 77 pages of text layer: a few minutes per run on one core."""
TARGET = 10_000_000
MACHINES = (1, 10, 100)
CORES = 16
"""Cores of the machine the estimate assumes (a common cloud size); `indexer.ray_ingest` runs
encoders on 3 of every 4."""


def measure(corpus: list[Path], workers: int | None) -> dict[str, float]:
    """`run` in a fresh process: files added and failed, passages, seconds."""
    command = [sys.executable, __file__, "--measure", str(workers or 0), "--corpus", *map(str, corpus)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(corpus: list[Path], workers: int | None) -> tuple[IngestReport, float]:
    """One fresh archive ingested with `workers` Ray encoder actors (None: locally), model loaded
    first, and the encoders' CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as folder, Archive.open(folder, create=True) as archive:
        archive.store.set_model(archive.encoder.model_id, archive.encoder.dim)
        if workers is None:
            archive.encoder.passages(["start"])
            before = resource.getrusage(resource.RUSAGE_SELF)
            report = ingest(archive.store, archive.encoder, corpus)
            after = resource.getrusage(resource.RUSAGE_SELF)
            return report, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        import ray

        from indexer.ray_ingest import RUNTIME_ENV, RayExecutor

        ray.init(address="local", num_cpus=workers + 1, include_dashboard=False, runtime_env=RUNTIME_ENV, log_to_driver=False)
        try:
            with RayExecutor(None, archive.encoder, workers=workers, batch=EMBED_BATCH) as executor:
                ray.get([actor.embed.remote(["start"]) for actor in executor.actors])  # every model loaded
                before = _actor_cpu(executor.actors)
                report = ingest(archive.store, archive.encoder, corpus, executor=executor)
                return report, _actor_cpu(executor.actors) - before
        finally:
            ray.shutdown()


def _actor_cpu(actors: list) -> float:
    """CPU seconds the actors' processes have used (every thread), summed."""
    import ray

    return sum(ray.get([actor.__ray_call__.remote(lambda _: time.process_time()) for actor in actors]))


def hours(passages: float, rate: float) -> str:
    return f"{passages / rate / 3600:,.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, nargs="+", default=DEFAULT_CORPUS)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # one run, in a child process
    add_output_arguments(parser)
    args = parser.parse_args()
    if args.measure is not None:
        report, cpu = run(args.corpus, args.measure or None)
        figures = {"added": len(report.added), "failed": len(report.failed), "passages": report.passages}
        print(json.dumps({**figures, "seconds": report.seconds, "cpu": cpu, "load": os.getloadavg()[0]}))
        return

    rows = [
        "| executor | encoder workers | files (failed) | passages | seconds | **passages/s** | encoder CPU s | passages per encoder CPU s | load (1 min) at the end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rates: dict[int, float] = {}
    per_cpu: dict[int, float] = {}
    for workers in [None, *args.workers]:
        report = measure(args.corpus, workers)
        rate = report["passages"] / report["seconds"]
        if workers:
            rates[workers] = rate
            per_cpu[workers] = report["passages"] / report["cpu"]
        name = "local (2 extraction processes, torch on all cores)" if workers is None else "Ray, 1 CPU per encoder actor"
        rows.append(
            f"| {name} | {workers or '-'} | {report['added']} ({report['failed']}) | {report['passages']} | "
            f"{report['seconds']:.1f} | **{rate:.2f}** | {report['cpu']:.1f} | {report['passages'] / report['cpu']:.2f} | "
            f"{report['load']:.1f} |"
        )
        print(rows[-1], flush=True)

    most = max(rates)
    scaling = rates[most] / (rates[min(rates)] * most)
    one = per_cpu[min(per_cpu)]
    per_machine = one * min(scaling, 1.0) * (CORES - CORES // 4)
    body = [
        f"Corpus: {', '.join(str(p.relative_to(SHARED)) if p.is_relative_to(SHARED) else str(p) for p in args.corpus)}. "
        "Models loaded before the clock starts; passages/s = passages stored / `IngestReport.seconds`.",
        "",
        *rows,
        "",
        f"Paper estimate for {TARGET:,} passages, fp32 on CPU: {one:.2f} passages per CPU second of one "
        f"worker (a core to itself), {most} workers at {scaling:.0%} of linear in wall time (counted at most 100%), {CORES - CORES // 4} encoder workers on a {CORES}-core "
        f"machine: {per_machine:.0f} passages/s a machine. "
        + ", ".join(f"{n} machine{'s' if n > 1 else ''}: {hours(TARGET, per_machine * n)}" for n in MACHINES)
        + ". Assumes the machines scale as the two workers here did, the files on a shared file system, "
        "and the single writer keeping up (it splits and writes; SQLite one transaction per document). "
        "Where the load average is above the 2 cores, wall time and the scaling are set by the other work "
        "on the machine; passages per CPU second is the figure that carries over.",
    ]
    publish(args, "ray-ingest", "Ingest on Ray (`bench/ray_ingest.py`)", body)


if __name__ == "__main__":
    main()
