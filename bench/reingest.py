"""Re-ingest benchmark: how long does `archive ingest` take when nothing has changed?

Run: .venv/bin/python bench/reingest.py [FOLDER ...] [--archive DIR] [--first]

Ingests FOLDER (default the shared corpus) into DIR twice, as a user would: `archive ingest FOLDER
-a DIR -q --json` in a subprocess, so Python start-up and imports count. The first run builds (or
brings up to date) the archive; the second finds every file unchanged and is the figure printed.
With an existing archive that already holds documents the first run is taken as done and only the
unchanged run is timed (pass --first to run both anyway). Without --archive a temporary directory
is used and removed afterwards.

The unchanged run still reads every file to hash it, and it extracts again every file whose last
attempt failed (failures are retried), so the report's failed count is printed beside the time.
The machine is shared, so the load average is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_speed import CORPUS  # noqa: E402


def archive_command() -> list[str]:
    script = Path(sys.executable).with_name("archive")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from archive.cli import cli; cli()"]


def stored_documents(archive_dir: Path) -> int:
    path = archive_dir / "archive.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
        except sqlite3.Error:
            return 0


def ingest(folders: list[str], archive_dir: Path) -> tuple[float, dict, str]:
    """Run `archive ingest`; return wall seconds, its JSON report and the stderr summary line."""
    started = time.perf_counter()
    run = subprocess.run(
        [*archive_command(), "ingest", *folders, "-a", str(archive_dir), "-q", "--json"],
        cwd=ROOT, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 1) or not run.stdout.strip():  # 1: some files failed, the run completed
        sys.exit(f"archive ingest failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
    return seconds, json.loads(run.stdout)["report"], summary


def describe(name: str, seconds: float, report: dict) -> str:
    counts = ", ".join(f"{len(report[k])} {k}" for k in ("added", "updated", "skipped", "removed", "failed"))
    return (
        f"{name}: {seconds:.1f} s wall ({report['seconds']:.1f} s inside ingest, "
        f"{report['encoder_seconds']:.1f} s encoder) · {counts} · {report['embedded']} embedded"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", default=[str(CORPUS)], help="folders to ingest (default: the shared corpus)")
    parser.add_argument("--archive", type=Path, help="archive directory (reused if it exists; default: a temporary one)")
    parser.add_argument("--first", action="store_true", help="run the first ingest even if the archive holds documents")
    args = parser.parse_args()

    temporary = args.archive is None
    archive_dir = Path(tempfile.mkdtemp(prefix="reingest-")) / "idx" if temporary else args.archive
    try:
        print(f"folders: {' '.join(args.folders)}\narchive: {archive_dir}  (load average {os.getloadavg()[0]:.1f})")
        held = stored_documents(archive_dir)
        if held and not args.first:
            print(f"first run: skipped, the archive already holds {held} documents")
        else:
            seconds, report, _ = ingest(args.folders, archive_dir)
            print(describe("first run", seconds, report))
        seconds, report, summary = ingest(args.folders, archive_dir)
        print(describe("second run (unchanged)", seconds, report))
        if summary:
            print(f"  {summary}")
        if report["added"] or report["updated"]:
            print("  note: the second run was not a no-op; files changed between the runs or were not stored")
        if report["failed"]:
            print(f"  note: {len(report['failed'])} files failed again; failed files are re-extracted on every run")
        print(f"unchanged re-run: {seconds:.1f} s  (load average {os.getloadavg()[0]:.1f})")
    finally:
        if temporary:
            shutil.rmtree(archive_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
