"""Dense (pgvector HNSW) and lexical (BM25 over tsvector) candidates of a PostgreSQL archive, and
the index side of the backend seam."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable

import numpy as np

from indexer.analysis import analyse
from indexer.lexical import distinctive_terms
from indexer.postgres.schema import (
    BM25_B,
    BM25_K1,
    EXACT_MAX,
    EXACT_SHARE,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    MAX_EF_SEARCH,
    length_norm,
    quoted,
)
from indexer.postgres.store import PostgresStore
from indexer.store import Change


class PostgresVectors:
    """Dense candidates from pgvector's HNSW index (or exactly, for small allowed sets)."""

    def __init__(self, store: PostgresStore):
        self.store = store

    def __len__(self) -> int:
        return int(self.store._meta("passages") or 0) if self.store.model() else 0

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
        allowed_docs: Collection[int] | None = None,
    ) -> list[list[tuple[int, float]]]:
        """Per query vector, up to `k` (passage id, cosine), best first, among `allowed` passage ids
        or the passages of `allowed_docs` (the filter pushed into the query: an array of 300,000
        allowed passage ids is what a broad filter over a million passages would otherwise send).

        Exact when at most EXACT_MAX passages are searched or the allowed ones are under EXACT_SHARE
        of them; otherwise the HNSW graph, whose iterative scan goes on past its beam for deep
        searches and filters."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        total = len(self)
        if k <= 0 or total == 0:
            return [[] for _ in queries]
        ids = None if allowed is None else sorted({int(i) for i in allowed})
        docs = None if allowed_docs is None else sorted({int(d) for d in allowed_docs})
        if ids == [] or docs == []:
            return [[] for _ in queries]
        found = []
        with self.store.snapshot():
            searched = total
            if ids is not None:
                searched = min(total, len(ids))
            elif docs is not None:
                searched = self.store.db.execute(
                    "SELECT count(*) FROM passages WHERE doc = ANY(%s)", (docs,)
                ).fetchone()[0]
            exact = searched <= EXACT_MAX or (searched < EXACT_SHARE * total)
            where = "embedding IS NOT NULL" + ("" if ids is None else " AND id = ANY(%(ids)s)") + (
                "" if docs is None else " AND doc = ANY(%(docs)s)"
            )
            # `+ 0` hides the distance from the planner, which then cannot walk the HNSW index
            order = "(embedding <#> %(q)s) + 0" if exact else "embedding <#> %(q)s"
            self.store.db.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, min(k, MAX_EF_SEARCH))}")
            for vector in queries:
                rows = self.store.db.execute(
                    f"SELECT id, embedding <#> %(q)s FROM passages WHERE {where} ORDER BY {order} LIMIT %(k)s",
                    {"q": vector, "ids": ids, "docs": docs, "k": k},
                ).fetchall()
                hits = [(int(pid), -float(distance)) for pid, distance in rows]
                found.append(sorted(hits, key=lambda hit: (-hit[1], hit[0])))  # relaxed order: sort the k
        return found


class PostgresLexical:
    """BM25 over `passages.terms` (see the module docstring), filtered by document inside the query."""

    def __init__(self, store: PostgresStore):
        self.store = store

    def search(self, query: str, k: int, *, allowed_docs: Collection[int] | None = None) -> list[tuple[int, float]]:
        terms = list(dict.fromkeys(analyse(query)))
        if k <= 0 or not terms or (allowed_docs is not None and not allowed_docs):
            return []
        with self.store.snapshot():
            return [(pid, score) for pid, _, score in self._bm25(dict.fromkeys(terms, 1.0), k, allowed_docs=allowed_docs)]

    def documents_of(self, passage_ids: Collection[int]) -> dict[int, int]:
        """passage id → its document id, for those of `passage_ids` the archive holds."""
        if not len(passage_ids):
            return {}
        rows = self.store.db.execute(
            "SELECT id, doc FROM passages WHERE id = ANY(%s)", ([int(i) for i in passage_ids],)
        ).fetchall()
        return {int(pid): int(doc) for pid, doc in rows}

    def more_like_this(self, texts: Iterable[str], *, terms: int, k: int, skip_doc: int) -> dict[int, float]:
        """Documents sharing the distinctive terms of `texts`: document id → its best passage's BM25
        score for a query of the `terms` heaviest terms, over up to `k` passages, `skip_doc`'s own
        left out. The terms are chosen as `indexer.lexical.LexicalIndex.more_like_this` chooses them
        (`distinctive_terms`, with the `lexicon` table's document frequencies), and their weights
        boost their BM25 as tantivy's boost query does."""
        if k <= 0:
            return {}
        with self.store.snapshot():
            db = self.store.db
            chosen = distinctive_terms(
                texts, terms, int(self.store._meta("passages") or 0),
                lambda wanted: dict(db.execute("SELECT term, df FROM lexicon WHERE term = ANY(%s)", (list(wanted),)).fetchall()),
            )
            if not chosen:
                return {}
            hits = self._bm25(chosen, k, skip_doc=skip_doc)
        best: dict[int, float] = {}
        for _, doc, score in hits:
            best.setdefault(doc, score)  # hits come best first
        return best

    def _bm25(
        self, boosts: dict[str, float], k: int, *, allowed_docs: Collection[int] | None = None,
        skip_doc: int | None = None,
    ) -> list[tuple[int, int, float]]:
        """Up to k (passage id, document id, score), best first: the sum over `boosts`' terms of boost × BM25, among passages of `allowed_docs` and not of
        `skip_doc`. Runs inside the caller's snapshot."""
        db = self.store.db
        passages, total = int(self.store._meta("passages") or 0), int(self.store._meta("terms") or 0)
        df = dict(db.execute("SELECT term, df FROM lexicon WHERE term = ANY(%s)", (list(boosts),)).fetchall())
        present = [t for t in boosts if df.get(t)]
        if not present or not passages:
            return []
        idf = [boosts[t] * math.log(1 + (passages - df[t] + 0.5) / (df[t] + 0.5)) for t in present]
        docs = "" if allowed_docs is None else "AND p.doc = ANY(%(docs)s)"
        skip = "" if skip_doc is None else "AND p.doc <> %(skip)s"
        rows = db.execute(
            f"SELECT p.id, p.doc, sum(q.idf * u.tf * %(k1p)s / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * {length_norm('p.nterms')} / %(avgdl)s))) AS s "
            "FROM passages p "
            "CROSS JOIN LATERAL (SELECT lexeme, cardinality(positions) AS tf FROM unnest(p.terms)) u "
            "JOIN unnest(%(terms)s::text[], %(idf)s::float8[]) AS q(term, idf) ON q.term = u.lexeme "
            f"WHERE p.terms @@ %(query)s::tsquery {docs} {skip} "
            "GROUP BY p.id ORDER BY s DESC, p.id LIMIT %(k)s",
            {
                "k1p": BM25_K1 + 1, "k1": BM25_K1, "b": BM25_B, "avgdl": total / passages, "terms": present,
                "idf": idf, "query": " | ".join(quoted(t) for t in present), "k": k, "skip": skip_doc,
                "docs": None if allowed_docs is None else [int(d) for d in allowed_docs],
            },
        ).fetchall()
        return [(int(pid), int(doc), float(score)) for pid, doc, score in rows]


class PostgresIndexes:
    """The index side of a PostgreSQL archive: its HNSW and GIN indexes live in the tables and
    follow every transaction, so there is nothing to apply and no stamp to compare."""

    def __init__(self, store: PostgresStore):
        self.store = store
        self.notes: list[str] = []
        self._vectors = PostgresVectors(store)
        self._lexical = PostgresLexical(store)

    def vectors(self) -> PostgresVectors:
        return self._vectors

    def lexical(self) -> PostgresLexical:
        return self._lexical

    def dense(self, vector: np.ndarray, k: int, *, allowed_docs: Collection[int] | None = None) -> list[tuple[int, float]]:
        """Up to k (passage id, cosine) for one query vector among the passages of `allowed_docs`."""
        return self._vectors.search(vector, k, allowed_docs=allowed_docs)[0]

    def foreign(self) -> str | None:
        return None

    def apply(self, change: Change, previous_generation: int) -> None:
        """Nothing to do: the indexes were updated in each document's transaction."""

    def remove_leftovers(self) -> None:
        """Nothing to do: an interrupted transaction leaves nothing behind."""

    def problems(self, *, thorough: bool = True) -> list[str]:
        """Indexes missing or left invalid (a failed CREATE INDEX CONCURRENTLY, a REINDEX cut short)."""
        wanted = ["passages_terms"] + (["passages_embedding"] if self.store.model() else [])
        rows = dict(self.store.db.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid)", (wanted,)
        ).fetchall())
        return [
            f"index {name} in {self.store.location} is " + ("missing" if name not in rows else "invalid")
            for name in wanted if not rows.get(name)
        ]

    def rebuild(self) -> None:
        """Rebuild the HNSW and GIN indexes and recount the lexicon from the stored terms."""
        db = self.store.db
        with self.store.transaction():
            db.execute("DELETE FROM lexicon")
            db.execute(
                "INSERT INTO lexicon SELECT u.lexeme, count(*) FROM passages p, unnest(p.terms) u GROUP BY u.lexeme"
            )
            db.execute(
                "UPDATE meta SET value = CASE key WHEN 'passages' THEN (SELECT count(*) FROM passages)::text "
                "ELSE (SELECT coalesce(sum(nterms), 0) FROM passages)::text END WHERE key IN ('passages', 'terms')"
            )
        model = self.store.model()
        if model:
            db.execute(
                "CREATE INDEX IF NOT EXISTS passages_embedding ON passages USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
            )
            db.execute("REINDEX INDEX passages_embedding")
        db.execute("REINDEX INDEX passages_terms")
