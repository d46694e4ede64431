"""Scale benchmark for the PostgreSQL backend's dense search, next to FAISS: build time, bytes per
passage, p50/p95 and recall@10 against exact search at 100k and 1M passages.

Run: .venv/bin/python bench/scale_postgres.py [--sizes 100000 1000000] [--no-faiss] [--no-write]

Vectors and queries as in bench/scale.py (real e5 passage vectors mixed pairwise plus noise; real e5
query vectors). A PostgreSQL 18 + pgvector 0.8 server is started for the run (tests/postgres_server.py,
fsync off). The vectors go into a table shaped like the backend's (`id bigint`, `embedding vector(384)`)
by binary COPY, then the HNSW index is built with the backend's settings (`indexer.postgres`: m,
ef_construction, inner-product ops) and searched with its SQL and ef_search, one query at a time,
k=10. "filtered" allows random documents (10 passages each) making up a share of the passages,
searched as the backend does (exact under EXACT_MAX or EXACT_SHARE, else HNSW with iterative scan). Bytes per passage: table + TOAST + HNSW index, from
`pg_total_relation_size`. FAISS rows use `indexer.vectors` with the kind it would choose.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import exact_top, recall_at_10, seed_vectors, synthetic, write_results  # noqa: E402
from indexer.postgres import schema as postgres  # noqa: E402
from tests.postgres_server import running  # noqa: E402

MARK = "<!-- scale-postgres -->"
PASSAGES_PER_DOC = 10
"""Passages per document (the shared corpus has 8.8): filters allow documents, as the backend's do."""


def load(db, x: np.ndarray) -> float:  # noqa: ANN001 - a psycopg connection
    """Create the table and COPY the vectors in; seconds taken."""
    dim = x.shape[1]
    db.execute("DROP TABLE IF EXISTS bench")
    db.execute(f"CREATE TABLE bench (id bigint PRIMARY KEY, doc bigint NOT NULL, embedding vector({dim}))")
    started = time.perf_counter()
    with db.cursor() as cursor, cursor.copy("COPY bench (id, doc, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "int8", "vector"])
        for i, row in enumerate(x, start=1):
            copy.write_row((i, i // PASSAGES_PER_DOC, row))
    db.execute("CREATE INDEX bench_doc ON bench(doc)")
    return time.perf_counter() - started


def build(db) -> float:  # noqa: ANN001
    started = time.perf_counter()
    db.execute(
        "CREATE INDEX bench_hnsw ON bench USING hnsw (embedding vector_ip_ops) "
        f"WITH (m = {postgres.HNSW_M}, ef_construction = {postgres.HNSW_EF_CONSTRUCTION})"
    )
    return time.perf_counter() - started


def search(db, queries: np.ndarray, *, ef: int, docs: list[int] | None = None, exact: bool = False):  # noqa: ANN001, ANN201
    """(result id sets, latencies ms), one query at a time after a warm-up, as PostgresVectors asks
    (a filter as the allowed documents)."""
    db.execute(f"SET hnsw.ef_search = {ef}; SET hnsw.iterative_scan = relaxed_order; "
               f"SET hnsw.max_scan_tuples = {postgres.MAX_SCAN_TUPLES}")
    where = "" if docs is None else "WHERE doc = ANY(%(docs)s)"
    order = "(embedding <#> %(q)s) + 0" if exact else "embedding <#> %(q)s"
    statement = f"SELECT id FROM bench {where} ORDER BY {order} LIMIT 10"
    for q in queries[:10]:
        db.execute(statement, {"q": q, "docs": docs}).fetchall()
    found, latency = [], []
    for q in queries:
        started = time.perf_counter()
        rows = db.execute(statement, {"q": q, "docs": docs}).fetchall()
        latency.append((time.perf_counter() - started) * 1000)
        found.append({r[0] for r in rows})
    return found, np.array(latency)


def faiss_row(x: np.ndarray, queries: np.ndarray, truth: list[set[int]]) -> dict:
    from indexer.vectors import VectorIndex

    ids = np.arange(1, len(x) + 1, dtype=np.int64)
    started = time.perf_counter()
    index = VectorIndex.build(ids, x)
    build_s = time.perf_counter() - started
    for q in queries[:10]:
        index.search(q, 10)
    found, latency = [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.search(q, 10)[0]
        latency.append((time.perf_counter() - t) * 1000)
        found.append({i for i, _ in hits})
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp), {"generation": 0})
        size = (Path(tmp) / "index.faiss").stat().st_size
    return {"engine": f"FAISS {index.kind}", "n": len(x), "build_s": build_s, "bytes": size / len(x),
            "p50": float(np.percentile(latency, 50)), "p95": float(np.percentile(latency, 95)),
            "recall": recall_at_10(found, truth)}


def row_text(row: dict) -> str:
    return (f"| {row['n']:>9,} | {row['engine']:<22} | {row['build_s']:8.1f} | {row['bytes']:6.0f} | "
            f"{row['p50']:7.2f} | {row['p95']:7.2f} | {row['recall']:.3f} |")


def main() -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-faiss", action="store_true")
    parser.add_argument("--m", type=int, default=postgres.HNSW_M, help="HNSW m to try (default: the backend's)")
    parser.add_argument("--ef-construction", type=int, default=postgres.HNSW_EF_CONSTRUCTION)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    postgres.HNSW_M, postgres.HNSW_EF_CONSTRUCTION = args.m, args.ef_construction
    started = time.perf_counter()
    seeds, queries = seed_vectors()
    queries = queries.astype(np.float32)
    rng = np.random.default_rng(1)
    rows, sweeps, filters = [], [], []
    header = "| passages | engine | build s | bytes/passage | p50 ms | p95 ms | recall@10 |"
    print(header, file=sys.stderr)
    with running() as server:
        with psycopg.connect(server.url(), autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
            db.execute("SET maintenance_work_mem = '4GB'")
            register_vector(db)
            for n in args.sizes:
                x = synthetic(seeds, n, rng)
                truth = [{int(i) + 1 for i in r} for r in exact_top(x, queries)]
                copy_s = load(db, x)
                build_s = build(db)
                size = db.execute("SELECT pg_total_relation_size('bench')").fetchone()[0]
                found, latency = search(db, queries, ef=postgres.HNSW_EF_SEARCH)
                row = {"engine": f"pgvector HNSW ef={postgres.HNSW_EF_SEARCH}", "n": n, "build_s": copy_s + build_s,
                       "bytes": size / n, "p50": float(np.percentile(latency, 50)),
                       "p95": float(np.percentile(latency, 95)), "recall": recall_at_10(found, truth)}
                rows.append(row)
                print(row_text(row) + f"  (COPY {copy_s:.1f} s + index {build_s:.1f} s)", file=sys.stderr, flush=True)
                for ef in (40, 100, 400):
                    found, latency = search(db, queries, ef=ef)
                    sweeps.append(f"| {n:>9,} | ef_search={ef} | {np.median(latency):7.2f} | {recall_at_10(found, truth):.3f} |")
                    print(sweeps[-1], file=sys.stderr, flush=True)
                found, latency = search(db, queries[:20], ef=postgres.HNSW_EF_SEARCH, exact=True)
                sweeps.append(f"| {n:>9,} | exact scan (20 queries) | {np.median(latency):7.2f} | {recall_at_10(found, truth[:20]):.3f} |")
                print(sweeps[-1], file=sys.stderr, flush=True)
                ids = np.arange(1, n + 1)
                for share in (0.01, 0.1, 0.3):
                    docs = rng.choice(n // PASSAGES_PER_DOC + 1, max(1, int(share * n / PASSAGES_PER_DOC)), replace=False)
                    chosen = np.flatnonzero(np.isin(ids // PASSAGES_PER_DOC, docs))
                    sub_truth = [{int(chosen[i]) + 1 for i in r} for r in exact_top(x[chosen], queries[:50])]
                    exact = len(chosen) < postgres.EXACT_SHARE * n or len(chosen) <= postgres.EXACT_MAX
                    found, latency = search(db, queries[:50], ef=postgres.HNSW_EF_SEARCH,
                                            docs=[int(d) for d in docs], exact=exact)
                    filters.append(f"| {n:>9,} | {share:.0%} | {'exact' if exact else 'HNSW, iterative scan'} | "
                                   f"{np.median(latency):7.2f} | {np.percentile(latency, 95):7.2f} | {recall_at_10(found, sub_truth):.3f} |")
                    print(filters[-1], file=sys.stderr, flush=True)
                if not args.no_faiss:
                    rows.append(faiss_row(x, queries, truth))
                    print(row_text(rows[-1]), file=sys.stderr, flush=True)
                db.execute("DROP TABLE bench")
                del x
    load_avg = os.getloadavg()
    section = "\n".join([
        MARK,
        f"## PostgreSQL + pgvector dense search at scale ({time.strftime('%Y-%m-%d')}, bench/scale_postgres.py)",
        "",
        f"PostgreSQL 18.6, pgvector 0.8.6 (fsync off), HNSW m={postgres.HNSW_M}, ef_construction={postgres.HNSW_EF_CONSTRUCTION}; "
        f"{len(queries)} real e5 queries, k=10, one at a time; load average {load_avg[0]:.1f} on 2 shared cores; "
        f"{(time.perf_counter() - started) / 60:.0f} min in all.",
        "",
        header, "|---|---|---|---|---|---|---|", *map(row_text, rows),
        "",
        "ef_search sweep (p50 ms, recall@10):", "", "| passages | knob | p50 ms | recall@10 |", "|---|---|---|---|", *sweeps,
        "",
        "Filtered (random documents of 10 passages allowed, `doc = ANY(…)` as the backend asks; recall against exact over the allowed passages, 50 queries):", "",
        "| passages | allowed | how | p50 ms | p95 ms | recall@10 |", "|---|---|---|---|---|---|", *filters,
        MARK,
    ])
    print(section)
    if not args.no_write:
        write_results(section, MARK)


if __name__ == "__main__":
    main()
