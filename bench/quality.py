"""Search quality on three sets, per mode, for the current code or a variant of one query-side step.

    python bench/quality.py --archive DIR [--fusion convex:0.9 rrf:0.5 zscore:0.5 ...]

Sets of different origin, so that a choice tuned on one is checked on the others:

- `eval/dev_queries.jsonl` (111 queries written after reading the documents), judged per document
  as `archive eval` does: MRR@10 and Recall@10 over documents; and page@1 over the queries that name
  answer pages (27; those whose documents are in the archive): the top hit of the per-document
  ranking lies on a named page of its document.
- `eval/kamervragen_queries.jsonl` (real written Kamervragen, `eval/build_kamervragen.py`), judged
  per passage. The question itself is in the judged document, so a document hit would be trivial;
  instead passages that hold the question's text (in any document) are dropped from the ranking,
  and a passage is right when it holds the minister's answer. MRR@10 and R@10 (an answer passage
  in the top 10) over passages, and page@1: the top passage lies in the Aanhangsel on a page of the
  answer. A question whose answer sits only in passages that also hold the question (a short answer
  right below it) cannot be judged this way and is skipped; how many depends on the passage size
  (33 of 151 at the default).
- `eval/page_queries.jsonl` (69 page questions on long documents, written by a helper that read
  only the documents): pages page@1 of the per-document ranking, as for dev, and page@3: a right
  page among the first three passages shown.

Text matching uses 5-word shingles over lowercase words, so it survives the cleaning of page
furniture and hyphenation that separates stored passages from the pdftotext reference text.

`--fusion` re-ranks the hybrid mode with another fusion of `archive.fusion` at a dense weight
(`convex:W`, `zscore:W`, `rrf:W`); every variant sees the same candidates. Query vectors are cached (each text is encoded once), so latency belongs to bench/query_latency.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import archive.search as search_module  # noqa: E402
from archive import Archive, fusion  # noqa: E402
from archive.evaluate import evaluate, matches  # noqa: E402
from archive.search import MODES, Hit, search  # noqa: E402

DEV = ROOT / "eval" / "dev_queries.jsonl"
DEV_KINDS = ("paraphrase", "clerk", "identifier")
KAMERVRAGEN = ROOT / "eval" / "kamervragen_queries.jsonl"
PAGES = ROOT / "eval" / "page_queries.jsonl"
SHINGLE = 5
PASSAGE_DEPTH = 30
"""Passages asked for per Kamervraag: the top 10 left after dropping the question's passages."""


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def _covered(text: str, shingles: set[tuple[str, ...]]) -> int:
    """How many words of `text` lie in a shingle from `shingles`."""
    words = _words(text)
    covered = [False] * len(words)
    for i in range(len(words) - SHINGLE + 1):
        if tuple(words[i : i + SHINGLE]) in shingles:
            covered[i : i + SHINGLE] = [True] * SHINGLE
    return sum(covered)


@dataclass
class Kamervraag:
    id: str
    query: str
    document: str
    pages: set[int]
    question: set[tuple[str, ...]]
    question_words: int
    answer: set[tuple[str, ...]]
    answer_words: int

    @property
    def needed_question(self) -> int:
        return max(8, min(15, self.question_words // 2))

    @property
    def needed_answer(self) -> int:
        return min(15, self.answer_words // 2)

    def holds_question(self, hit: Hit) -> bool:
        return _covered(hit.text, self.question) >= self.needed_question

    def holds_answer(self, hit: Hit) -> bool:
        return _covered(hit.text, self.answer) >= self.needed_answer


def load_kamervragen(path: Path = KAMERVRAGEN) -> list[Kamervraag]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        document = item["relevant"][0]
        question, answer = _words(item["query"]), _words(item["answer"])
        out.append(Kamervraag(item["id"], item["query"], document, set(item["pages"][document]),
                              _shingles(question), len(question), _shingles(answer), len(answer)))
    return out


@dataclass
class PassageMetrics:
    mrr_at_10: float
    recall_at_10: float
    page_at_1: float


def judgeable(archive: Archive, queries: list[Kamervraag]) -> tuple[list[Kamervraag], dict[str, str]]:
    """The questions whose answer has a passage of its own in the archive, and the document key of
    each judged path."""
    documents = {d.path: d for d in archive.store.documents()}
    keys = {q.document: d.key for q in queries for path, d in documents.items()
            if path == q.document or path.endswith("/" + q.document)}
    by_key = {d.key: d.id for d in documents.values()}
    kept = []
    for q in queries:
        if q.document not in keys:
            continue
        ids = archive.store.passage_ids([by_key[keys[q.document]]])
        texts = [p.text for p in archive.store.passages(ids.tolist()).values()]
        if any(_covered(t, q.answer) >= q.needed_answer and _covered(t, q.question) < q.needed_question for t in texts):
            kept.append(q)
    return kept, keys


def judge_kamervragen(
    queries: list[Kamervraag], run: Callable[[str], list[Hit]], keys: dict[str, str]
) -> PassageMetrics:
    """`keys` maps a judged path to the archive's document key."""
    reciprocal, found, page = [], [], []
    for q in queries:
        ranking = [h for h in run(q.query) if not q.holds_question(h)][:10]
        first = next((i for i, h in enumerate(ranking, start=1) if q.holds_answer(h)), None)
        reciprocal.append(1 / first if first else 0.0)
        found.append(1.0 if first else 0.0)
        top = ranking[0] if ranking else None
        right_page = (
            top is not None and top.document == keys.get(q.document)
            and bool(q.pages & set(range(top.page_start, top.page_end + 1)))
        )
        page.append(1.0 if right_page else 0.0)
    n = len(queries)
    return PassageMetrics(sum(reciprocal) / n, sum(found) / n, sum(page) / n)


@dataclass
class PageQuery:
    query: str
    pages: dict[str, set[int]]
    """path as judged → answer pages"""


def load_page_queries(path: Path) -> list[PageQuery]:
    """The queries of a set that name the pages their answer is on."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [PageQuery(i["query"], {p: set(n) for p, n in i["pages"].items()}) for i in items if i.get("pages")]


def judge_pages(
    archive: Archive, queries: list[PageQuery], run: Callable[[str, bool], list[Hit]]
) -> tuple[float, float, int]:
    """page@1 of the per-document ranking, page@3 of the passage ranking (a right page among the
    first three passages shown), and how many queries were judged (their documents stored).
    `run(text, per_doc)` searches."""
    documents = archive.store.documents()
    first, three, judged = 0, 0, 0
    for q in queries:
        keys = {d.key: pages for ref, pages in q.pages.items() for d in documents if matches(d, ref)}
        if not keys:
            continue
        judged += 1

        def right(hit: Hit) -> bool:
            return hit.document in keys and bool(keys[hit.document] & set(range(hit.page_start, hit.page_end + 1)))

        top = run(q.query, True)[:1]
        first += bool(top and right(top[0]))
        three += any(right(hit) for hit in run(q.query, False)[:3])
    return (first / judged if judged else 0.0), (three / judged if judged else 0.0), judged


def fusion_variant(spec: str) -> Callable:
    """`zscore:0.5` → a `fuse(dense, lexical, dense_weight)` that ignores the weight it is given."""
    name, _, weight = spec.partition(":")
    method = {"convex": fusion.convex, "zscore": fusion.zscore, "rrf": fusion.reciprocal_rank}.get(name)
    if method is None or not weight:
        raise SystemExit(f"unknown fusion {spec!r}; give convex:W, zscore:W or rrf:W")
    return lambda dense, lexical, _weight=None: method(dense, lexical, float(weight))


def report(
    archive: Archive, label: str, modes: tuple[str, ...], kamervragen: list[Kamervraag], keys: dict[str, str]
) -> list[str]:
    documents = archive.store.documents()
    lines = []
    for mode in modes:
        dev_report = evaluate(
            DEV, documents,
            lambda text, m: search(archive.store, archive.indexes, archive.encoder, text, k=100, mode=m, per_doc=True),
            [mode],
        )
        dev = dev_report.modes[mode]
        kinds = " / ".join(f"{dev_report.by_kind[k][mode].mrr_at_10:.3f}" for k in DEV_KINDS if k in dev_report.by_kind)
        def run(text: str, per_doc: bool, mode: str = mode) -> list[Hit]:
            return search(archive.store, archive.indexes, archive.encoder, text, k=10, mode=mode, per_doc=per_doc)

        dev_page, _, _ = judge_pages(archive, load_page_queries(DEV), run)
        page_1, page_3, _ = judge_pages(archive, load_page_queries(PAGES), run)
        kv = judge_kamervragen(
            kamervragen,
            lambda text: search(archive.store, archive.indexes, archive.encoder, text, k=PASSAGE_DEPTH, mode=mode),
            keys,
        )
        lines.append(
            f"| {label} | {mode} | {dev.mrr_at_10:.3f} | {dev.recall_at_10:.3f} | {kinds} | {dev_page:.3f} | {kv.mrr_at_10:.3f} | "
            f"{kv.recall_at_10:.3f} | {kv.page_at_1:.3f} | {page_1:.3f} | {page_3:.3f} |"
        )
        print(lines[-1], flush=True)
    return lines


HEADER = (
    "| variant | mode | dev MRR@10 | dev R@10 | dev MRR@10 paraphrase / clerk / identifier | dev page@1 | kv MRR@10 | kv R@10 | kv page@1 | pages page@1 | pages page@3 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--label", default="current")
    parser.add_argument("--fusion", nargs="*", default=[], help="hybrid only, one row per variant")
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    args = parser.parse_args()
    kamervragen = load_kamervragen()
    with Archive.open(args.archive, repair=False) as archive:
        archive.encoder.query = lru_cache(maxsize=None)(archive.encoder.query)  # one encoding per text
        judged, keys = judgeable(archive, kamervragen)
        _, _, paged = judge_pages(archive, load_page_queries(DEV), lambda text, per_doc: [])
        _, _, pages = judge_pages(archive, load_page_queries(PAGES), lambda text, per_doc: [])
        print(f"{len(judged)} of {len(kamervragen)} Kamervragen, {paged} dev page queries and {pages} page questions judged; "
              f"archive {args.archive}\n{HEADER}", flush=True)
        if not args.fusion:
            report(archive, args.label, tuple(args.modes), judged, keys)
        for spec in args.fusion:
            search_module.fuse = fusion_variant(spec)
            report(archive, spec, ("hybrid",), judged, keys)


if __name__ == "__main__":
    main()
