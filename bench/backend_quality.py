"""Dev-set quality of the two backends side by side: an embedded archive and its copy in PostgreSQL.

Run: .venv/bin/python bench/backend_quality.py --archive ARCHIVE_DIR [--queries eval/dev_queries.jsonl]

The archive is copied to a temporary directory first (it is only read, but an open may repair its
indexes), migrated into a PostgreSQL server started for the run (tests/postgres_server.py), and
`Archive.evaluate` runs the query file on both: MRR@10, R@10 and p50 latency per mode, and MRR@10
per query kind. The same thing by hand: `archive migrate -a DIR --to URL`, then
`archive eval QUERIES -a DIR` and `archive eval QUERIES --backend URL`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from tests.postgres_server import running  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", required=True, type=Path)
    parser.add_argument("--queries", default=ROOT / "eval" / "dev_queries.jsonl", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running() as server:
        copy = Path(tmp) / "archive"
        shutil.copytree(args.archive, copy)
        url = server.create("quality")
        with Archive.open(copy) as embedded:
            started = time.perf_counter()
            migration = embedded.migrate(url)
            print(f"migrated {migration.documents} documents, {migration.passages} passages in "
                  f"{time.perf_counter() - started:.0f} s; problems: {migration.problems or 'none'}")
            reports = {"embedded": embedded.evaluate(args.queries)}
        with Archive.open(url) as postgres:
            reports["postgres"] = postgres.evaluate(args.queries)
    print("| backend | mode | MRR@10 | R@10 | p50 ms |\n|---|---|---|---|---|")
    for name, report in reports.items():
        for mode, m in report.modes.items():
            print(f"| {name} | {mode} | {m.mrr_at_10:.3f} | {m.recall_at_10:.3f} | {m.latency_p50_ms:.0f} |")
    print("\nMRR@10 per query kind (embedded / postgres):")
    for kind in reports["embedded"].by_kind:
        pairs = {mode: (reports["embedded"].by_kind[kind][mode].mrr_at_10, reports["postgres"].by_kind[kind][mode].mrr_at_10)
                 for mode in reports["embedded"].by_kind[kind]}
        print(f"  {kind}: " + ", ".join(f"{mode} {a:.3f} / {b:.3f}" for mode, (a, b) in pairs.items()))


if __name__ == "__main__":
    main()
