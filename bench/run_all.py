"""Run the ingest, query-latency and txtai benchmarks in order; each writes its section of bench/RESULTS.md.

Run: make bench   (or .venv/bin/python bench/run_all.py [--corpus …] [--txtai-corpus …] [--no-write])

1. bench/ingest_speed.py builds a fresh archive of the corpus (default: the shared corpus) in a
   temporary directory;
2. bench/query_latency.py times warm and cold searches on that archive and on the demo index;
3. bench/txtai_compare.py ingests the corpus again into an archive of its own and sets txtai beside it.

Each runs as its own process, so peak memory and imports of one do not leak into the next. On a
2-core machine the full run takes a long while (the ingest of the shared corpus dominates).
bench/scale.py is not part of it: it runs for an hour or more and is run on its own.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.results import RESULTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", help="what ingest_speed and query_latency use (default: the shared corpus)")
    parser.add_argument("--txtai-corpus", nargs="+", help="what txtai_compare uses (default: the shared corpus)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to update (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")
    args = parser.parse_args()
    output = ["--no-write"] if args.no_write else ["--results", str(args.results)]
    scratch = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    archive = scratch / "archive"
    steps = [
        ("ingest_speed.py", ["--archive", str(archive), *(["--corpus", *args.corpus] if args.corpus else [])]),
        ("query_latency.py", ["--archive", str(archive)]),
        ("txtai_compare.py", ["--corpus", *args.txtai_corpus] if args.txtai_corpus else []),
    ]
    failed = []
    started = time.perf_counter()
    try:
        for script, options in steps:
            if script == "query_latency.py" and "ingest_speed.py" in failed:
                failed.append(script)
                print(f"\n== {script}: skipped, the archive was not built", file=sys.stderr)
                continue
            print(f"\n== {script} ({(time.perf_counter() - started) / 60:.1f} min in)", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, str(BENCH / script), *options, *output])
            if done.returncode:
                failed.append(script)
                print(f"== {script} failed (exit {done.returncode})", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    where = "nothing written (--no-write)" if args.no_write else f"results in {args.results}"
    print(f"\n== done in {minutes:.1f} min; {where}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
