"""What other BM25 parameters would give, measured offline with bm25s on both dev sets.

    python bench/bm25_params.py --archive DIR [--grid 1.2:0.75 0.9:0.4 ...]

tantivy fixes BM25 at k1=1.2, b=0.75. To see whether other values are worth an engine that lets
them be set, this script scores the archive's passages with bm25s (Lucene's BM25, the formula
tantivy uses) over the same `indexer.analysis` terms, once per k1:b, and puts that scorer in place
of the lexical index for the lexical and hybrid modes of `bench/quality.py` (same candidates depth,
same fusion, same identifier lookup). The first row, 1.2:0.75, checks that bm25s reproduces tantivy
(they differ only in tantivy's one-byte document-length norms).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402

from archive import Archive  # noqa: E402
from bench.quality import HEADER, judgeable, load_kamervragen, report  # noqa: E402
from indexer.analysis import analyse  # noqa: E402


class Bm25sLexical:
    """Stands in for `LexicalIndex.search` with bm25s at given k1 and b."""

    def __init__(self, rows: list[tuple[int, int, list[str]]], k1: float, b: float) -> None:
        self.passage_ids = np.array([pid for pid, _, _ in rows])
        self.doc_ids = np.array([doc for _, doc, _ in rows])
        self.model = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.model.index([terms for _, _, terms in rows], show_progress=False)
        self.vocabulary = self.model.vocab_dict

    def search(self, query: str, k: int, *, allowed_docs: Collection[int] | None = None) -> list[tuple[int, float]]:
        terms = [t for t in dict.fromkeys(analyse(query)) if t in self.vocabulary]
        if not terms:
            return []
        scores = self.model.get_scores(terms)
        if allowed_docs is not None:
            scores = np.where(np.isin(self.doc_ids, list(allowed_docs)), scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(self.passage_ids[i]), float(scores[i])) for i in top if scores[i] > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--grid", nargs="*", default=["1.2:0.75", "0.9:0.4", "1.2:0.5", "1.5:0.75", "2.0:0.75", "1.2:0.9"])
    args = parser.parse_args()
    with Archive.open(args.archive, repair=False) as archive:
        archive.encoder.query = lru_cache(maxsize=None)(archive.encoder.query)
        rows = [(pid, doc, analyse(text)) for pid, doc, text in archive.store.passage_rows()]
        judged, keys = judgeable(archive, load_kamervragen())
        print(f"{len(rows)} passages, {len(judged)} Kamervragen judged\n{HEADER}", flush=True)
        report(archive, "tantivy 1.2:0.75", ("lexical", "hybrid"), judged, keys)
        for spec in args.grid:
            k1, b = (float(x) for x in spec.split(":"))
            scorer = Bm25sLexical(rows, k1, b)
            archive.indexes.lexical = lambda scorer=scorer: scorer
            report(archive, f"bm25s {spec}", ("lexical", "hybrid"), judged, keys)


if __name__ == "__main__":
    main()
