"""The PostgreSQL + pgvector backend: the whole archive in one database, for archives that outgrow
one machine's SQLite file, FAISS index and tantivy directory.

One database holds one archive. Tables mirror the SQLite store (`indexer.store`): documents, pages,
passages, refs, keys, failures and meta (format, generation, model, dim); the derived indexes live
in the same rows, so they can never fall behind the store:

- **Dense**: each passage's vector in `passages.embedding` (pgvector `vector`, float32: the copy of
  an embedded archive keeps its vectors bit for bit), with an HNSW index under inner product (the
  vectors are unit length, so it is cosine). Filtered searches use HNSW with iterative scans
  (pgvector ≥ 0.8); small allowed sets are searched exactly, as FAISS does.
- **Lexical**: `passages.terms`, a tsvector of exactly the terms `indexer.analysis.analyse` gives
  the tantivy index (Snowball dutch_porter, folded diacritics, identifiers whole and split, compound
  parts from OpenTaal's list), with a GIN index, ranked by BM25 (k1 1.2, b 0.75, tantivy's idf and
  one-byte length norms) computed in SQL from a `lexicon` of document frequencies kept in each document's transaction.
  PostgreSQL's own `dutch` configuration was not used: it is the newer Snowball `dutch` stemmer
  that `indexer.analysis` rejects (gezondheid→zon), it splits no identifiers or compounds, and
  `ts_rank_cd` has no idf, so its ranking would differ from the embedded archive's for reasons
  that have nothing to do with the server.

Writes: one transaction per document, the generation bumped in it; one writer at a time through a
session advisory lock (released by the server when the writer's connection dies, so a killed
ingest never leaves a stale lock). Reads: one connection per thread, REPEATABLE READ snapshots.
"""

from indexer.postgres.schema import redacted
from indexer.postgres.search import PostgresIndexes, PostgresLexical, PostgresVectors
from indexer.postgres.store import PostgresStore

__all__ = ["PostgresIndexes", "PostgresLexical", "PostgresStore", "PostgresVectors", "redacted"]
