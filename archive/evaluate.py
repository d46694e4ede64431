"""Retrieval metrics over a query file, for every search mode side by side.

A query file has one JSON object per line: `query`, `relevant` (document ids, file names or path
suffixes such as "pdf/ienw/x.pdf") and optionally `kind`. Ranking is per document: a query is
answered by documents, and a clerk reads the document, not the passage.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archive.errors import BadQuery
from archive.search import Hit
from indexer.store import DocumentRow

CUTOFFS = (1, 5, 10, 100)


@dataclass
class Metrics:
    queries: int = 0
    mrr_at_10: float = 0.0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    recall_at_10: float = 0.0
    recall_at_100: float = 0.0
    ndcg_at_10: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0


@dataclass
class EvalReport:
    file: str
    queries: int
    skipped: list[str]
    """Queries none of whose relevant documents are in the archive (cannot be judged)."""
    modes: dict[str, Metrics]
    by_kind: dict[str, dict[str, Metrics]] = field(default_factory=dict)


@dataclass
class _Query:
    id: str
    text: str
    kind: str
    relevant: list[str]


def load_queries(path: Path) -> list[_Query]:
    """The judged queries of a JSONL file; raise BadQuery naming the file and line of the first bad one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BadQuery(f"{path}: cannot read the query file ({error})") from None
    queries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise BadQuery(f"{path}:{number}: not valid JSON ({error.msg}, column {error.colno})") from None
        relevant = item.get("relevant") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            raise BadQuery(f"{path}:{number}: each line needs a 'query' string")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(r, str) for r in relevant):
            raise BadQuery(f"{path}:{number}: each line needs a non-empty 'relevant' list of document ids or file names")
        queries.append(_Query(str(item.get("id", number)), item["query"], str(item.get("kind", "all")), relevant))
    if not queries:
        raise BadQuery(f"{path}: no queries in the file")
    return queries


def matches(doc: DocumentRow, ref: str) -> bool:
    """Does a relevance judgement name this document (by id, file name, stem or path suffix)?"""
    ref = ref.strip("/")
    path = Path(doc.path)
    return ref in (doc.key, path.name, path.stem) or doc.path.endswith("/" + ref)


def evaluate(
    queries_path: Path,
    documents: Sequence[DocumentRow],
    search: Callable[[str, str], list[Hit]],
    modes: Sequence[str],
) -> EvalReport:
    """Run every query in every mode; `search(query, mode)` returns per-document hits, best first."""
    queries = load_queries(queries_path)
    by_key = {d.key: d for d in documents}
    judged: list[tuple[_Query, set[str]]] = []
    skipped = []
    for query in queries:
        relevant = {d.key for d in documents for ref in query.relevant if matches(d, ref)}
        if relevant:
            judged.append((query, relevant))
        else:
            skipped.append(query.id)
    report = EvalReport(str(queries_path), len(judged), skipped, {})
    for mode in modes:
        per_query: list[tuple[str, dict[str, float], float]] = []
        for query, relevant in judged:
            started = time.perf_counter()
            hits = search(query.text, mode)
            elapsed = (time.perf_counter() - started) * 1000
            ranking = [h.document for h in hits if h.document in by_key]
            per_query.append((query.kind, _scores(ranking, relevant), elapsed))
        report.modes[mode] = _mean(per_query)
        for kind in sorted({kind for kind, _, _ in per_query}):
            report.by_kind.setdefault(kind, {})[mode] = _mean([q for q in per_query if q[0] == kind])
    return report


def _scores(ranking: list[str], relevant: set[str]) -> dict[str, float]:
    first = next((i for i, key in enumerate(ranking[:10], start=1) if key in relevant), None)
    out = {"mrr_at_10": 1 / first if first else 0.0}
    for cutoff in CUTOFFS:
        out[f"recall_at_{cutoff}"] = len(relevant & set(ranking[:cutoff])) / len(relevant)
    dcg = sum(1 / math.log2(i + 1) for i, key in enumerate(ranking[:10], start=1) if key in relevant)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(relevant), 10) + 1))
    out["ndcg_at_10"] = dcg / ideal
    return out


def _mean(per_query: list[tuple[str, dict[str, float], float]]) -> Metrics:
    if not per_query:
        return Metrics()
    metrics = Metrics(queries=len(per_query))
    for name in per_query[0][1]:
        setattr(metrics, name, round(sum(q[1][name] for q in per_query) / len(per_query), 4))
    latencies = sorted(q[2] for q in per_query)
    metrics.latency_p50_ms = round(latencies[len(latencies) // 2], 1)
    metrics.latency_p95_ms = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1)
    return metrics
