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
  parts from OpenTaal's list), with a GIN index, ranked by BM25 (k1 1.2, b 0.75, tantivy's idf)
  computed in SQL from a `lexicon` of document frequencies kept in each document's transaction.
  PostgreSQL's own `dutch` configuration was not used: it is the newer Snowball `dutch` stemmer
  that `indexer.analysis` rejects (gezondheid→zon), it splits no identifiers or compounds, and
  `ts_rank_cd` has no idf, so its ranking would differ from the embedded archive's for reasons
  that have nothing to do with the server.

Writes: one transaction per document, the generation bumped in it; one writer at a time through a
session advisory lock (released by the server when the writer's connection dies, so a killed
ingest never leaves a stale lock). Reads: one connection per thread, REPEATABLE READ snapshots.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from indexer.analysis import ANALYSIS_VERSION, analyse
from indexer.errors import ArchiveLocked, ArchiveNotFound, StoreError
from indexer.keys import document_keys, kenmerk_key
from indexer.records import Extraction, LetterFields, Passage, Reference
from indexer.store import (
    DOCUMENT_COLUMNS, FIELD_NAMES, Change, DocumentFilter, DocumentRow, PassageRow, StoredDocument, storable_text,
    text_hash,
)

FORMAT_VERSION = 1
"""Of this schema; an archive database of another version is refused."""

LOCK_KEY = 0x41524348
"""The advisory lock one writer holds (per database, so one archive per database)."""

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
"""pgvector's defaults; bench/scale_postgres.py measures recall@10 against exact search with them."""
HNSW_EF_SEARCH = 100
"""Candidates the graph walk keeps; raised to k for deeper searches (pgvector allows up to 1000)."""
MAX_EF_SEARCH = 1000
EXACT_SHARE = 0.1
"""A filter that leaves fewer than this share of the passages is searched exactly (a sequential
scan of the allowed rows by primary key), like FAISS's exact subset: a graph walk through mostly
forbidden nodes would need a huge beam to find k allowed ones."""
MAX_SCAN_TUPLES = 50_000
"""Iterative scans stop after this many tuples (pgvector's default is 20,000); filtered HNSW
searches therefore still return k hits when a tenth of the archive is allowed."""

BM25_K1 = 1.2
BM25_B = 0.75
"""tantivy's BM25 parameters, so both backends rank lexical candidates alike."""
MAX_POSITION = 16383
"""tsvector positions stop here; a term's frequency past it is not counted (passages are ~500 terms)."""


def redacted(url: str) -> str:
    """The URL without its password, for messages and `location`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _clean(text: str | None) -> str | None:
    """Text PostgreSQL can store: NUL (which SQLite takes, PostgreSQL refuses) becomes U+FFFD, one
    character for one, so character spans stay valid."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _tsvector(terms: list[str]) -> str:
    """The tsvector literal of analysed `terms` with their positions (frequency = position count)."""
    where: dict[str, list[int]] = {}
    for position, term in enumerate(terms, start=1):
        where.setdefault(term, []).append(min(position, MAX_POSITION))
    return " ".join(f"{_quoted(term)}:{','.join(map(str, sorted(set(at))))}" for term, at in where.items())


def _quoted(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _schema() -> str:
    letter = ", ".join(f'{name} text COLLATE "C"' for name in FIELD_NAMES)
    return f"""
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE documents (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    key text COLLATE "C" NOT NULL UNIQUE,
    path bytea NOT NULL UNIQUE,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    format text NOT NULL,
    text text NOT NULL,
    sidebar text NOT NULL DEFAULT '',
    {letter},
    added_at double precision NOT NULL
);
CREATE INDEX documents_dossier ON documents(dossier, ondernummer);
CREATE INDEX documents_date ON documents(date);
CREATE INDEX documents_aanhangsel ON documents(aanhangsel);
CREATE TABLE keys (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    doc bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind text NOT NULL,
    key text NOT NULL,
    PRIMARY KEY (kind, key, doc)
);
CREATE INDEX keys_doc ON keys(doc);
CREATE TABLE pages (
    doc bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    n integer NOT NULL,
    char_start integer NOT NULL,
    char_end integer NOT NULL,
    ocr boolean NOT NULL DEFAULT false,
    PRIMARY KEY (doc, n)
);
CREATE TABLE passages (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    doc bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq integer NOT NULL,
    page_start integer NOT NULL,
    page_end integer NOT NULL,
    char_start integer NOT NULL,
    char_end integer NOT NULL,
    text text NOT NULL,
    text_hash text NOT NULL,
    terms tsvector NOT NULL,
    nterms integer NOT NULL,
    embedding vector
);
CREATE INDEX passages_doc ON passages(doc);
CREATE INDEX passages_hash ON passages(text_hash);
CREATE INDEX passages_terms ON passages USING gin(terms);
CREATE TABLE lexicon (term text PRIMARY KEY, df bigint NOT NULL);
CREATE TABLE refs (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    doc bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind text NOT NULL,
    value text NOT NULL,
    text text NOT NULL DEFAULT ''
);
CREATE INDEX refs_value ON refs(kind, value);
CREATE INDEX refs_doc ON refs(doc);
CREATE TABLE failures (
    path bytea PRIMARY KEY,
    sha256 text,
    stage text NOT NULL,
    error text NOT NULL,
    at double precision NOT NULL
);
INSERT INTO meta VALUES ('format_version', '{FORMAT_VERSION}'), ('generation', '0'), ('passages', '0'),
    ('terms', '0'), ('analysis', '{ANALYSIS_VERSION}');
"""


class PostgresStore:
    """An archive in a PostgreSQL database: the same typed reads and writes as `indexer.store.Store`."""

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self.read_only = False
        self.notes: list[str] = []

    @property
    def location(self) -> str:
        return redacted(self.url)

    @classmethod
    def open(cls, url: str, *, create: bool = False) -> PostgresStore:
        """Open the archive in the database at `url`; with `create`, lay out the schema in an empty
        database (one that holds no `meta` table). Raises ArchiveNotFound when there is no archive
        there, StoreError when the server cannot be reached or holds another format."""
        store = cls(url)
        try:
            db = store._connect(register=False)
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))  # two creators make one schema
                exists = db.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
                if not exists and not create:
                    raise ArchiveNotFound(f"no archive in the database {store.location} (ingest into it first)")
                if not exists:
                    db.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    db.execute(_schema())
            register_vector(db)
        except psycopg.Error as error:
            store.close()
            raise StoreError(f"cannot open the archive database {store.location}: {str(error).strip()}") from error
        except BaseException:
            store.close()
            raise
        store._local.db = db
        version = store._meta("format_version")
        if version != str(FORMAT_VERSION):
            store.close()
            raise StoreError(
                f"the database {store.location} holds an archive in format {version}; this version of archive "
                f"reads format {FORMAT_VERSION} of the PostgreSQL backend"
            )
        return store

    def _connect(self, *, register: bool = True) -> psycopg.Connection:
        db = psycopg.connect(self.url, autocommit=True)
        db.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        db.execute(
            f"SET hnsw.ef_search = {HNSW_EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order; "
            f"SET hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"
        )
        if register:
            register_vector(db)
        with self._lock:
            self._connections.append(db)
        return db

    @property
    def db(self) -> psycopg.Connection:
        """This thread's connection (a server's request threads each get one)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()

    # --- transactions and locking -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (a savepoint inside another); rolled back on any exception."""
        with self.db.transaction():
            yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A REPEATABLE READ transaction: every query inside sees one committed state. Re-entrant."""
        if self.db.info.transaction_status != TransactionStatus.IDLE:
            yield
            return
        with self.db.transaction():
            yield

    @contextmanager
    def writer_lock(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the archive's single-writer lock (a session advisory lock on a connection of its own,
        which the server releases if this process dies); raise ArchiveLocked at once if taken."""
        with psycopg.connect(self.url, autocommit=True, application_name=f"archive writer pid {os.getpid()}") as lock:
            if wait:
                lock.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            elif not lock.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                raise ArchiveLocked(
                    f"the archive database {self.location} is being written by {self._lock_holder(lock)}; "
                    "wait for it to finish and try again"
                )
            yield

    def _lock_holder(self, db: psycopg.Connection) -> str:
        row = db.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LOCK_KEY,),
        ).fetchone()
        return row[0] if row and row[0] else "another process"

    def writer_active(self) -> bool:
        with psycopg.connect(self.url, autocommit=True) as db:
            taken = db.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
            return not taken

    # --- meta ---------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    @property
    def generation(self) -> int:
        return int(self._meta("generation") or 0)

    def _bump_generation(self) -> None:
        self.db.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation'")

    def model(self) -> tuple[str, int] | None:
        name, dim = self._meta("model"), self._meta("dim")
        return None if name is None or dim is None else (name, int(dim))

    def set_model(self, name: str, dim: int) -> None:
        """Record the model and give the vectors their dimension and HNSW index (an archive's model
        is set once, before its first document)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO meta VALUES ('model', %s), ('dim', %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (name, str(dim)),
            )
            self.db.execute(sql.SQL("ALTER TABLE passages ALTER COLUMN embedding TYPE vector({})").format(int(dim)))
            self.db.execute(
                f"CREATE INDEX IF NOT EXISTS passages_embedding ON passages USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
            )

    # --- reading ------------------------------------------------------------------------------

    def _documents(self, where: str = "", params: Sequence[object] = ()) -> list[DocumentRow]:
        with self.db.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents {where}", params).fetchall()
        found = [DocumentRow(**row) for row in rows]
        for row in found:
            row.path = os.fsdecode(bytes(row.path))
        return found

    def documents(self) -> list[DocumentRow]:
        return self._documents("ORDER BY id")

    def document(self, doc_id: int) -> DocumentRow | None:
        found = self._documents("WHERE id = %s", (doc_id,))
        return found[0] if found else None

    def document_by_key(self, key: str) -> DocumentRow | None:
        found = self._documents("WHERE key = %s", (key,))
        return found[0] if found else None

    def document_by_path(self, path: str) -> DocumentRow | None:
        found = self._documents("WHERE path = %s", (os.fsencode(path),))
        return found[0] if found else None

    def documents_by_ids(self, ids: Sequence[int]) -> dict[int, DocumentRow]:
        return {d.id: d for d in self._documents("WHERE id = ANY(%s)", ([int(i) for i in ids],))}

    def documents_by_keys(self, keys: Sequence[str]) -> dict[str, DocumentRow]:
        return {d.key: d for d in self._documents("WHERE key = ANY(%s)", (list(keys),))}

    def documents_with_keys(self, kinds: Sequence[str], keys: Sequence[str]) -> list[DocumentRow]:
        if not kinds or not keys:
            return []
        return self._documents(
            "WHERE id IN (SELECT doc FROM keys WHERE kind = ANY(%s) AND key = ANY(%s)) ORDER BY id", (list(kinds), list(keys))
        )

    def documents_by_kenmerk(self, kenmerk: str) -> list[DocumentRow]:
        return self.documents_with_keys(("kenmerk",), (kenmerk_key(kenmerk),))

    def documents_by_kamerstuk(self, dossier: str, number: str) -> list[DocumentRow]:
        return self._documents(
            "WHERE dossier = %s AND upper(ondernummer) = %s ORDER BY date, path", (dossier, number.upper())
        )

    def documents_in_dossier(self, dossier: str) -> list[DocumentRow]:
        return self._documents("WHERE dossier = %s ORDER BY id", (dossier,))

    def documents_with_aanhangsel(self, values: Sequence[str]) -> list[DocumentRow]:
        return self._documents("WHERE aanhangsel = ANY(%s) ORDER BY id", (list(values),)) if values else []

    def documents_dated(self, date: str) -> list[DocumentRow]:
        return self._documents("WHERE date = %s ORDER BY id", (date,))

    def documents_answering_date(self, date: str) -> list[DocumentRow]:
        return self._documents("WHERE uw_brief_date = %s ORDER BY id", (date,))

    def documents_citing(self, kind: str, value: str) -> list[tuple[DocumentRow, str]]:
        texts: dict[int, str] = {}
        for doc_id, text in self.db.execute("SELECT doc, text FROM refs WHERE kind = %s AND value = %s ORDER BY seq", (kind, value)):
            texts.setdefault(doc_id, text)
        docs = self.documents_by_ids(list(texts))
        return [(docs[i], texts[i]) for i in texts if i in docs]

    def documents_matching(self, where: DocumentFilter) -> list[int]:
        """Ids of the documents whose stored fields pass `where`, in id order (the same rules as
        `Store.documents_matching`; letter fields compare bytewise, as in SQLite)."""
        clauses, params = ["true"], []
        if where.date_from:
            clauses.append("date >= %s")
            params.append(where.date_from)
        if where.date_to:
            clauses.append("date <= %s")
            params.append(where.date_to + "\uffff")
        if where.sender:
            clauses.append("(strpos(lower(sender), %s) > 0 OR strpos(lower(sender_unit), %s) > 0 OR strpos(lower(signatory), %s) > 0)")
            params.extend([where.sender.lower()] * 3)
        if where.doc_type:
            clauses.append("lower(doc_type) = %s")
            params.append(where.doc_type.lower())
        if where.dossier:
            clauses.append("dossier = %s")
            params.append(where.dossier)
        if where.kenmerk:
            clauses.append("id IN (SELECT doc FROM keys WHERE kind = 'kenmerk' AND key = %s)")
            params.append(kenmerk_key(where.kenmerk))
        if where.vergaderjaar:
            clauses.append("vergaderjaar = %s")
            params.append(where.vergaderjaar)
        rows = self.db.execute(f"SELECT id FROM documents WHERE {' AND '.join(clauses)} ORDER BY id", params)
        return [r[0] for r in rows]

    def keys(self, doc_id: int, kind: str | None = None) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT kind, key FROM keys WHERE doc = %s AND (%s::text IS NULL OR kind = %s) ORDER BY seq", (doc_id, kind, kind)
        )
        return [(r[0], r[1]) for r in rows]

    def refs(self, doc_id: int, kind: str | None = None) -> list[Reference]:
        rows = self.db.execute(
            "SELECT kind, value, text FROM refs WHERE doc = %s AND (%s::text IS NULL OR kind = %s) ORDER BY seq",
            (doc_id, kind, kind),
        )
        return [Reference(r[0], r[1], r[2]) for r in rows]

    def document_head(self, doc_id: int, chars: int) -> str:
        row = self.db.execute(
            "SELECT left(sidebar, %s), left(text, %s) FROM documents WHERE id = %s", (chars, chars, doc_id)
        ).fetchone()
        return f"{row[0]}\n{row[1]}" if row else ""

    def document_text(self, doc_id: int) -> str:
        row = self.db.execute("SELECT text FROM documents WHERE id = %s", (doc_id,)).fetchone()
        return "" if row is None else row[0]

    def sidebar(self, doc_id: int) -> str:
        row = self.db.execute("SELECT sidebar FROM documents WHERE id = %s", (doc_id,)).fetchone()
        return "" if row is None else row[0]

    def pages(self, doc_id: int) -> list[tuple[int, int, int, bool]]:
        rows = self.db.execute("SELECT n, char_start, char_end, ocr FROM pages WHERE doc = %s ORDER BY n", (doc_id,))
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        rows = self.db.execute(
            "SELECT id, doc, page_start, page_end, char_start, char_end, text FROM passages WHERE id = ANY(%s)",
            ([int(i) for i in ids],),
        )
        return {r[0]: PassageRow(*r) for r in rows}

    def passage_ids(self, doc_ids: Sequence[int] | None = None) -> np.ndarray:
        if doc_ids is None:
            rows = self.db.execute("SELECT id FROM passages ORDER BY id")
        else:
            rows = self.db.execute("SELECT id FROM passages WHERE doc = ANY(%s) ORDER BY id", ([int(d) for d in doc_ids],))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def passage_docs(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self.db.execute("SELECT id, doc FROM passages ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        docs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        return ids, docs

    def passage_vectors(self, model: str, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, float32 matrix) of all passages (or `ids`) that have a vector, in id order."""
        recorded = self.model()
        if recorded is None or recorded[0] != model:
            return np.zeros(0, dtype=np.int64), np.zeros((0, recorded[1] if recorded else 0), dtype=np.float32)
        query = "SELECT id, embedding FROM passages WHERE embedding IS NOT NULL"
        params: tuple = ()
        if ids is not None:
            query += " AND id = ANY(%s)"
            params = ([int(i) for i in ids],)
        rows = self.db.execute(query + " ORDER BY id", params).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, recorded[1]), dtype=np.float32)
        pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return pids, np.vstack([r[1].to_numpy() for r in rows]).astype(np.float32, copy=False)

    def known_vectors(self, hashes: Sequence[str], model: str) -> set[str]:
        if (recorded := self.model()) is None or recorded[0] != model:
            return set()
        rows = self.db.execute(
            "SELECT DISTINCT text_hash FROM passages WHERE text_hash = ANY(%s) AND embedding IS NOT NULL", (list(hashes),)
        )
        return {r[0] for r in rows}

    def file_state(self) -> dict[str, tuple[int, str]]:
        return {os.fsdecode(bytes(r[0])): (r[1], r[2]) for r in self.db.execute("SELECT path, id, sha256 FROM documents")}

    def failures(self) -> list[dict[str, object]]:
        rows = self.db.execute("SELECT path, stage, error FROM failures ORDER BY path")
        return [{"path": os.fsdecode(bytes(r[0])), "stage": r[1], "error": r[2]} for r in rows]

    def counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM pages), (SELECT count(*) FROM passages),"
            " (SELECT count(DISTINCT text_hash) FROM passages WHERE embedding IS NOT NULL), (SELECT count(*) FROM failures)"
        ).fetchone()
        return dict(zip(("documents", "pages", "passages", "vectors", "failures"), row))

    # --- writing ------------------------------------------------------------------------------

    def unique_key(self, stem: str, path: str) -> str:
        """The document's short id, as `Store.unique_key` makes it."""
        stem = storable_text(stem)
        row = self.db.execute("SELECT path FROM documents WHERE key = %s", (stem,)).fetchone()
        if row is None or os.fsdecode(bytes(row[0])) == path:
            return stem
        return f"{stem}-{hashlib.sha1(os.fsencode(path)).hexdigest()[:6]}"

    def write_document(
        self,
        *,
        path: str,
        sha256: str,
        size: int,
        format: str,
        extraction: Extraction,
        letter: LetterFields,
        passages: Sequence[Passage],
        vectors: dict[str, np.ndarray],
        model: str,
    ) -> Change:
        """Replace whatever was stored for `path` with this document, in one transaction.
        `vectors` holds the vectors of passages whose text hash the archive does not know yet."""
        with self.transaction():
            hashes = {text_hash(p.text) for p in passages}
            known = self._vectors_of(hashes - set(vectors))  # before the old version's passages go
            change = self._delete_path(path)
            doc_id = self._insert_document(
                key=self.unique_key(Path(path).stem, path), path=path, sha256=sha256, size=size, format=format,
                text=extraction.text, sidebar=extraction.sidebar, added_at=time.time(),
                fields={name: getattr(letter, name) for name in FIELD_NAMES},
            )
            self.db.cursor().executemany(
                "INSERT INTO pages VALUES (%s, %s, %s, %s, %s)",
                [
                    (doc_id, page.number, start, start + len(page.text), bool(page.ocr))
                    for page, start in zip(extraction.pages, extraction.page_starts())
                ],
            )
            rows = [
                (None, seq, p.page_start, p.page_end, p.char_start, p.char_end, p.text, text_hash(p.text))
                for seq, p in enumerate(passages)
            ]
            change.added = self._insert_passages(doc_id, rows, {**known, **vectors})
            self._insert_links(doc_id, list(dict.fromkeys(letter.references)), document_keys(letter, extraction.text))
            self.db.execute("DELETE FROM failures WHERE path = %s", (os.fsencode(path),))
            self._bump_generation()
        return change

    def import_document(self, stored: StoredDocument) -> None:
        """Store a document copied from another archive with its ids, passages and vectors as they
        were (`indexer.migrate`), in one transaction."""
        row = stored.row
        with self.transaction():
            doc_id = self._insert_document(
                id=row.id, key=row.key, path=row.path, sha256=row.sha256, size=stored.size, format=row.format,
                text=stored.text, sidebar=stored.sidebar, added_at=stored.added_at,
                fields={name: getattr(row, name) for name in FIELD_NAMES},
            )
            self.db.cursor().executemany(
                "INSERT INTO pages VALUES (%s, %s, %s, %s, %s)", [(doc_id, *page) for page in stored.pages]
            )
            rows = [
                (p.id, p.seq, p.page_start, p.page_end, p.char_start, p.char_end, p.text, p.text_hash)
                for p in stored.passages
            ]
            self._insert_passages(doc_id, rows, stored.vectors)
            self._insert_links(doc_id, stored.refs, stored.keys)
            self._bump_generation()

    def finish_import(self) -> None:
        """After documents were imported with their own ids, let new ids continue above them."""
        for table in ("documents", "passages"):
            self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )

    def _insert_document(
        self, *, key: str, path: str, sha256: str, size: int, format: str, text: str, sidebar: str,
        added_at: float, fields: dict[str, str | None], id: int | None = None,
    ) -> int:
        columns = ["key", "path", "sha256", "size", "format", "text", "sidebar", "added_at", *fields]
        values = [key, os.fsencode(path), sha256, size, format, _clean(text), _clean(sidebar), added_at,
                  *(_clean(v) for v in fields.values())]
        if id is not None:
            columns.insert(0, "id")
            values.insert(0, id)
        marks = ", ".join(["%s"] * len(columns))
        return self.db.execute(
            f"INSERT INTO documents ({', '.join(columns)}) VALUES ({marks}) RETURNING id", values
        ).fetchone()[0]

    def _insert_passages(self, doc_id: int, rows: list[tuple], vectors: dict[str, np.ndarray]) -> list[int]:
        """Insert passages (id or None, seq, pages, span, text, hash) with their terms and vectors, keep
        the lexicon's document frequencies and totals in step; return the new ids."""
        added: list[int] = []
        df: Counter[str] = Counter()
        total_terms = 0
        for pid, seq, page_start, page_end, char_start, char_end, text, digest in rows:
            terms = analyse(text)
            total_terms += len(terms)
            df.update(set(terms))
            vector = vectors.get(digest)
            values = [doc_id, seq, page_start, page_end, char_start, char_end, _clean(text), digest, _tsvector(terms),
                      len(terms), None if vector is None else np.asarray(vector, dtype=np.float32)]
            columns = "doc, seq, page_start, page_end, char_start, char_end, text, text_hash, terms, nterms, embedding"
            if pid is not None:
                columns, values = "id, " + columns, [pid, *values]
            marks = ", ".join(["%s"] * len(values))
            added.append(self.db.execute(f"INSERT INTO passages ({columns}) VALUES ({marks}) RETURNING id", values).fetchone()[0])
        if df:
            self.db.execute(
                "INSERT INTO lexicon SELECT * FROM unnest(%s::text[], %s::bigint[]) "
                "ON CONFLICT (term) DO UPDATE SET df = lexicon.df + excluded.df",
                (list(df), list(df.values())),
            )
        self._add_totals(len(rows), total_terms)
        return added

    def _add_totals(self, passages: int, terms: int) -> None:
        self.db.execute(
            "UPDATE meta SET value = (value::bigint + CASE key WHEN 'passages' THEN %s ELSE %s END)::text "
            "WHERE key IN ('passages', 'terms')",
            (passages, terms),
        )

    def _insert_links(self, doc_id: int, refs: Sequence[Reference], keys: Sequence[tuple[str, str]]) -> None:
        cursor = self.db.cursor()
        cursor.executemany(
            "INSERT INTO refs (doc, kind, value, text) VALUES (%s, %s, %s, %s)",
            [(doc_id, r.kind, _clean(r.value), _clean(r.text)) for r in refs],
        )
        cursor.executemany(
            "INSERT INTO keys (doc, kind, key) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [(doc_id, kind, _clean(key)) for kind, key in keys],
        )

    def _vectors_of(self, hashes: set[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        rows = self.db.execute(
            "SELECT DISTINCT ON (text_hash) text_hash, embedding FROM passages "
            "WHERE text_hash = ANY(%s) AND embedding IS NOT NULL",
            (sorted(hashes),),
        )
        return {r[0]: r[1].to_numpy() for r in rows}

    def _delete_path(self, path: str) -> Change:
        """Delete a document's rows and its terms' share of the lexicon; return the change."""
        row = self.db.execute("SELECT id FROM documents WHERE path = %s", (os.fsencode(path),)).fetchone()
        if row is None:
            return Change([], [], [])
        doc_id = row[0]
        removed = [r[0] for r in self.db.execute("SELECT id FROM passages WHERE doc = %s", (doc_id,))]
        self.db.execute(
            "UPDATE lexicon l SET df = l.df - gone.n FROM "
            "(SELECT u.lexeme, count(*) AS n FROM passages p, unnest(p.terms) u WHERE p.doc = %s GROUP BY u.lexeme) gone "
            "WHERE l.term = gone.lexeme",
            (doc_id,),
        )
        self.db.execute("DELETE FROM lexicon WHERE df <= 0")
        terms = self.db.execute("SELECT coalesce(sum(nterms), 0) FROM passages WHERE doc = %s", (doc_id,)).fetchone()[0]
        self._add_totals(-len(removed), -int(terms))
        self.db.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
        return Change([], removed, [doc_id])

    def record_failure(self, path: str, sha256: str | None, stage: str, error: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO failures VALUES (%s, %s, %s, %s, %s) ON CONFLICT (path) DO UPDATE SET "
                "sha256 = excluded.sha256, stage = excluded.stage, error = excluded.error, at = excluded.at",
                (os.fsencode(path), sha256, stage, _clean(storable_text(error)), time.time()),
            )

    def forget_failures(self, paths: Sequence[str]) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM failures WHERE path = ANY(%s)", ([os.fsencode(p) for p in paths],))

    def remove_paths(self, paths: Sequence[str]) -> Change:
        total = Change([], [], [])
        for path in paths:
            with self.transaction():
                change = self._delete_path(path)
                self.db.execute("DELETE FROM failures WHERE path = %s", (os.fsencode(path),))
                self._bump_generation()
            total += change
        return total

    def integrity(self) -> list[str]:
        """Problems inside the archive's tables (empty when sound): passages without a vector of the
        archive's model, spans that do not match the document text, lexical totals out of step."""
        problems = []
        with self.snapshot():
            if self.model() and (missing := self.db.execute(
                "SELECT count(*) FROM passages WHERE embedding IS NULL"
            ).fetchone()[0]):
                problems.append(f"{missing} passages have no stored vector for {self.model()[0]}")  # type: ignore[index]
            bad = self.db.execute(
                "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.doc "
                "WHERE substr(d.text, p.char_start + 1, p.char_end - p.char_start) <> p.text"
            ).fetchone()[0]
            if bad:
                problems.append(f"{bad} passages whose span does not match their document text")
            passages, terms = self.db.execute("SELECT count(*), coalesce(sum(nterms), 0) FROM passages").fetchone()
            if (int(self._meta("passages") or -1), int(self._meta("terms") or -1)) != (passages, terms):
                problems.append(f"the lexical totals in {self.location} do not match its passages")
        return problems


class PostgresVectors:
    """Dense candidates from pgvector's HNSW index (or exactly, for small allowed sets)."""

    def __init__(self, store: PostgresStore):
        self.store = store

    def __len__(self) -> int:
        return int(self.store._meta("passages") or 0) if self.store.model() else 0

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Per query vector, up to `k` (passage id, cosine), best first, among `allowed` passage ids.

        Exact when the allowed set is under EXACT_SHARE of the passages or `k` exceeds what an HNSW
        beam may hold (MAX_EF_SEARCH); otherwise the HNSW graph with an iterative scan."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        total = len(self)
        if k <= 0 or total == 0:
            return [[] for _ in queries]
        ids = None if allowed is None else [int(i) for i in np.unique(np.asarray(allowed, dtype=np.int64))]
        if ids is not None and not ids:
            return [[] for _ in queries]
        exact = k > MAX_EF_SEARCH or (ids is not None and len(ids) < EXACT_SHARE * total)
        where = "embedding IS NOT NULL" + ("" if ids is None else " AND id = ANY(%(ids)s)")
        # `+ 0` hides the distance from the planner, which then cannot walk the HNSW index
        order = "(embedding <#> %(q)s) + 0" if exact else "embedding <#> %(q)s"
        found = []
        with self.store.snapshot():
            self.store.db.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, min(k, MAX_EF_SEARCH))}")
            for vector in queries:
                rows = self.store.db.execute(
                    f"SELECT id, embedding <#> %(q)s FROM passages WHERE {where} ORDER BY {order} LIMIT %(k)s",
                    {"q": vector, "ids": ids, "k": k},
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
        db = self.store.db
        with self.store.snapshot():
            passages, total = int(self.store._meta("passages") or 0), int(self.store._meta("terms") or 0)
            df = dict(db.execute("SELECT term, df FROM lexicon WHERE term = ANY(%s)", (terms,)).fetchall())
            present = [t for t in terms if df.get(t)]
            if not present or not passages:
                return []
            idf = [math.log(1 + (passages - df[t] + 0.5) / (df[t] + 0.5)) for t in present]
            docs = "" if allowed_docs is None else "AND p.doc = ANY(%(docs)s)"
            rows = db.execute(
                "SELECT p.id, sum(q.idf * u.tf * %(k1p)s / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * p.nterms / %(avgdl)s))) AS s "
                "FROM passages p "
                "CROSS JOIN LATERAL (SELECT lexeme, cardinality(positions) AS tf FROM unnest(p.terms)) u "
                "JOIN unnest(%(terms)s::text[], %(idf)s::float8[]) AS q(term, idf) ON q.term = u.lexeme "
                f"WHERE p.terms @@ %(query)s::tsquery {docs} "
                "GROUP BY p.id ORDER BY s DESC, p.id LIMIT %(k)s",
                {
                    "k1p": BM25_K1 + 1, "k1": BM25_K1, "b": BM25_B, "avgdl": total / passages, "terms": present,
                    "idf": idf, "query": " | ".join(_quoted(t) for t in present), "k": k,
                    "docs": None if allowed_docs is None else [int(d) for d in allowed_docs],
                },
            ).fetchall()
        return [(int(pid), float(score)) for pid, score in rows]


class PostgresIndexes:
    """The index side of a PostgreSQL archive: its HNSW and GIN indexes live in the tables and
    follow every transaction, so there is nothing to apply and no stamp to compare."""

    def __init__(self, store: PostgresStore):
        self.store = store
        self.notes: list[str] = []
        self._vectors = PostgresVectors(store)
        self._lexical = PostgresLexical(store)
        self._document_vectors: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        self._lock = threading.Lock()

    def vectors(self) -> PostgresVectors:
        return self._vectors

    def lexical(self) -> PostgresLexical:
        return self._lexical

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

    def document_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(document ids, matrix): each document's mean passage vector, L2-normalised, averaged in
        the database; kept for the archive's generation like the embedded archive's."""
        if self.store.model() is None:
            return None
        with self.store.snapshot():
            generation = self.store.generation
            with self._lock:
                if self._document_vectors is not None and self._document_vectors[0] == generation:
                    return self._document_vectors[1]
            rows = self.store.db.execute(
                "SELECT doc, avg(embedding) FROM passages WHERE embedding IS NOT NULL GROUP BY doc ORDER BY doc"
            ).fetchall()
        dim = self.store.model()[1]  # type: ignore[index]
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        sums = np.vstack([r[1].to_numpy() for r in rows]).astype(np.float64) if rows else np.zeros((0, dim))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        found = (ids, (sums / np.where(norms == 0, 1, norms)).astype(np.float32))
        with self._lock:
            self._document_vectors = (generation, found)
        return found
