"""`PostgresStore`: the archive's tables in PostgreSQL, with the typed reads and one-transaction-per-
document writes of `indexer.store.Store`."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.pq import TransactionStatus

from indexer.analysis import analyse
from indexer.errors import ArchiveLocked, ArchiveNotFound, StoreError
from indexer.keys import document_keys
from indexer.postgres.schema import (
    FORMAT_VERSION,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    LOCK_KEY,
    MAX_SCAN_TUPLES,
    clean,
    redacted,
    schema,
    tsvector,
)
from indexer.records import Extraction, LetterFields, Passage, Reference
from indexer.store import (
    FIELD_NAMES,
    Change,
    SqlReads,
    StoredDocument,
    storable_text,
    text_hash,
)


class PostgresStore(SqlReads):
    """An archive in a PostgreSQL database: the same typed reads (`SqlReads`, in PostgreSQL's dialect)
    and writes as `indexer.store.Store`."""

    MARK = "%s"
    CONTAINS = "strpos({column}, %s) > 0"
    ORDER = "seq"

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
                    db.execute(schema())
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

    def _one_of(self, column: str, values: list[object]) -> tuple[str, list[object]]:
        return f"{column} = ANY(%s)", [values]

    def _path_param(self, path: str) -> object:
        return os.fsencode(path)

    def _path_value(self, value: object) -> str:
        return os.fsdecode(bytes(value))  # type: ignore[arg-type]

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
        rows = self.fetch_binary(query + " ORDER BY id", params)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, recorded[1]), dtype=np.float32)
        pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return pids, np.vstack([r[1].to_numpy() for r in rows]).astype(np.float32, copy=False)

    def fetch_binary(self, query: str, params: Sequence[object] = ()) -> list[tuple]:
        """Rows in PostgreSQL's binary format: a vector arrives as its float32 bytes rather than as
        text to parse (5,000 384-dimensional vectors read in 80 ms instead of 830 ms)."""
        with self.db.cursor(binary=True) as cursor:
            return cursor.execute(query, params).fetchall()

    def known_vectors(self, hashes: Sequence[str], model: str) -> set[str]:
        if (recorded := self.model()) is None or recorded[0] != model:
            return set()
        rows = self.db.execute(
            "SELECT DISTINCT text_hash FROM passages WHERE text_hash = ANY(%s) AND embedding IS NOT NULL", (list(hashes),)
        )
        return {r[0] for r in rows}

    def counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM pages), (SELECT count(*) FROM passages),"
            " (SELECT count(DISTINCT text_hash) FROM passages WHERE embedding IS NOT NULL), (SELECT count(*) FROM failures)"
        ).fetchone()
        return dict(zip(("documents", "pages", "passages", "vectors", "failures"), row))

    # --- writing ------------------------------------------------------------------------------

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
            keys = document_keys(letter, extraction.text, extraction.sidebar, extraction.furniture)
            self._insert_links(doc_id, list(dict.fromkeys(letter.references)), keys)
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
        values = [key, os.fsencode(path), sha256, size, format, clean(text), clean(sidebar), added_at,
                  *(clean(v) for v in fields.values())]
        if id is not None:
            columns.insert(0, "id")
            values.insert(0, id)
        marks = ", ".join(["%s"] * len(columns))
        return self.db.execute(
            f"INSERT INTO documents ({', '.join(columns)}) VALUES ({marks}) RETURNING id", values
        ).fetchone()[0]

    def _insert_passages(self, doc_id: int, rows: list[tuple], vectors: dict[str, np.ndarray]) -> list[int]:
        """Insert passages (id or None, seq, pages, span, text, hash) with their terms and vectors, keep
        the lexicon's document frequencies and totals in step; return their ids. One batched
        statement: a row per round trip made a migration 57 passages/s."""
        df: Counter[str] = Counter()
        total_terms = 0
        values = []
        for pid, seq, page_start, page_end, char_start, char_end, text, digest in rows:
            terms = analyse(text)
            total_terms += len(terms)
            df.update(set(terms))
            vector = vectors.get(digest)
            values.append([
                pid, doc_id, seq, page_start, page_end, char_start, char_end, clean(text), digest, tsvector(terms),
                len(terms), None if vector is None else np.asarray(vector, dtype=np.float32),
            ])
        added: list[int] = []
        if values:
            new_ids = " OVERRIDING USER VALUE" if values[0][0] is None else ""  # NULL id: take the next
            with self.db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO passages (id, doc, seq, page_start, page_end, char_start, char_end, text, text_hash,"
                    f" terms, nterms, embedding){new_ids} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " RETURNING id",
                    values, returning=True,
                )
                while True:
                    added.append(cursor.fetchone()[0])
                    if not cursor.nextset():
                        break
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
            [(doc_id, r.kind, clean(r.value), clean(r.text)) for r in refs],
        )
        cursor.executemany(
            "INSERT INTO keys (doc, kind, key) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [(doc_id, kind, clean(key)) for kind, key in keys],
        )

    def _vectors_of(self, hashes: set[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        rows = self.fetch_binary(
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
                (os.fsencode(path), sha256, stage, clean(storable_text(error)), time.time()),
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
