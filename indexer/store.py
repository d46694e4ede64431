"""The SQLite store: the archive's single source of truth.

Documents, their pages, passages, vectors (keyed by passage text hash and model, so identical
passages are embedded once), references and failures live here. FAISS and the lexical index are
derived from it and stamped with `generation`, which grows by one with every committed change, so
a reader can tell whether a derived index still matches the store.

One document is written in one transaction: after a crash it is either fully present or absent.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from indexer.records import Extraction, LetterFields, Passage, Reference

FORMAT_VERSION = 1
"""Bump when the schema changes; `Store.open` refuses archives from another version."""

STORE_FILE = "archive.sqlite"
LOCK_FILE = "write.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    format TEXT NOT NULL,
    text TEXT NOT NULL,
    sidebar TEXT NOT NULL DEFAULT '',
    doc_type TEXT, title TEXT, date TEXT, sender TEXT, sender_unit TEXT, signatory TEXT,
    addressee TEXT, kenmerk TEXT, uw_kenmerk TEXT, uw_brief_date TEXT, dossier TEXT,
    ondernummer TEXT, vergaderjaar TEXT, aanhangsel TEXT,
    added_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_kenmerk ON documents(kenmerk);
CREATE INDEX IF NOT EXISTS documents_dossier ON documents(dossier, ondernummer);
CREATE INDEX IF NOT EXISTS documents_date ON documents(date);
CREATE TABLE IF NOT EXISTS pages (
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (doc, n)
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc);
CREATE INDEX IF NOT EXISTS passages_hash ON passages(text_hash);
CREATE TABLE IF NOT EXISTS vectors (
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (text_hash, model)
);
CREATE TABLE IF NOT EXISTS refs (
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS refs_value ON refs(kind, value);
CREATE INDEX IF NOT EXISTS refs_doc ON refs(doc);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    stage TEXT NOT NULL,
    error TEXT NOT NULL,
    at REAL NOT NULL
);
"""

FIELD_NAMES = [f.name for f in fields(LetterFields) if f.name != "references"]


class StoreError(Exception):
    """The archive cannot be opened or written as asked; the message says why and what to do."""


class ArchiveLocked(StoreError):
    """Another process is writing to this archive."""


@dataclass
class DocumentRow:
    """A stored document's metadata, as citations, filters and `show` need it (no text)."""

    id: int
    key: str
    path: str
    sha256: str
    format: str
    doc_type: str | None = None
    title: str | None = None
    date: str | None = None
    sender: str | None = None
    sender_unit: str | None = None
    signatory: str | None = None
    addressee: str | None = None
    kenmerk: str | None = None
    uw_kenmerk: str | None = None
    uw_brief_date: str | None = None
    dossier: str | None = None
    ondernummer: str | None = None
    vergaderjaar: str | None = None
    aanhangsel: str | None = None


DOCUMENT_COLUMNS = ", ".join(f.name for f in fields(DocumentRow))


@dataclass
class Change:
    """What a write did to the passages, so derived indexes can follow without a rebuild."""

    added: list[int]
    removed: list[int]
    removed_docs: list[int]

    def __iadd__(self, other: Change) -> Change:
        self.added += other.added
        self.removed += other.removed
        self.removed_docs += other.removed_docs
        return self


@dataclass
class PassageRow:
    id: int
    doc: int
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """One archive directory's SQLite database (WAL mode, so readers see a consistent snapshot
    while a writer commits)."""

    def __init__(self, directory: Path, connection: sqlite3.Connection):
        self.directory = directory
        self.db = connection

    @classmethod
    def open(cls, directory: Path | str, *, create: bool = True) -> Store:
        """Open (or create) the store in `directory`; raise StoreError for a foreign format version."""
        directory = Path(directory)
        path = directory / STORE_FILE
        if not path.exists() and not create:
            raise StoreError(f"no archive at {directory} (run `archive ingest` first)")
        directory.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        store = cls(directory, db)
        store._initialise()
        return store

    def _initialise(self) -> None:
        version = self._meta_raw("format_version") if self._has_meta() else None
        if version is not None and int(version) != FORMAT_VERSION:
            raise StoreError(
                f"{self.directory} holds an archive in format {version}; this version of archive reads "
                f"format {FORMAT_VERSION}. Re-ingest into a new directory (the old one is left untouched)."
            )
        if version is None:
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('format_version', ?), ('generation', '0')",
                    (str(FORMAT_VERSION),),
                )

    def _has_meta(self) -> bool:
        row = self.db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        return row is not None

    def _meta_raw(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.db.close()

    # --- transactions and locking -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; rolled back on any exception, so nothing half-written stays."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the same committed state."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    @contextmanager
    def writer_lock(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the archive's single-writer lock; raise ArchiveLocked at once if another writer has it."""
        handle = open(self.directory / LOCK_FILE, "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise ArchiveLocked(
                    f"{self.directory} is being written by {holder}; wait for it to finish and try again"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.close()

    def writer_active(self) -> bool:
        """True when some process holds the writer lock right now."""
        path = self.directory / LOCK_FILE
        if not path.exists():
            return False
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    # --- meta ---------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return int(self._meta_raw("generation") or 0)

    def _bump_generation(self) -> int:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        return self.generation

    def model(self) -> tuple[str, int] | None:
        """(model id, dim) this archive was built with, or None while it is empty."""
        name, dim = self._meta_raw("model"), self._meta_raw("dim")
        return None if name is None or dim is None else (name, int(dim))

    def set_model(self, name: str, dim: int) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?), ('dim', ?)", (name, str(dim)))

    # --- reading ------------------------------------------------------------------------------

    def documents(self, where: str = "", params: Sequence[object] = ()) -> list[DocumentRow]:
        sql = f"SELECT {DOCUMENT_COLUMNS} FROM documents {where}"
        return [DocumentRow(**dict(row)) for row in self.db.execute(sql, params)]

    def document(self, doc_id: int) -> DocumentRow | None:
        found = self.documents("WHERE id = ?", (doc_id,))
        return found[0] if found else None

    def documents_by_ids(self, ids: Sequence[int]) -> dict[int, DocumentRow]:
        out: dict[int, DocumentRow] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out.update({d.id: d for d in self.documents(f"WHERE id IN ({marks})", chunk)})
        return out

    def document_text(self, doc_id: int) -> str:
        row = self.db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return "" if row is None else row[0]

    def sidebar(self, doc_id: int) -> str:
        row = self.db.execute("SELECT sidebar FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return "" if row is None else row[0]

    def pages(self, doc_id: int) -> list[tuple[int, int, int, bool]]:
        """(page number, char_start, char_end, ocr) of a document's pages in order."""
        rows = self.db.execute(
            "SELECT n, char_start, char_end, ocr FROM pages WHERE doc = ? ORDER BY n", (doc_id,)
        )
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        out: dict[int, PassageRow] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT id, doc, page_start, page_end, char_start, char_end, text FROM passages "
                f"WHERE id IN ({marks})",
                chunk,
            )
            out.update({r[0]: PassageRow(*r) for r in rows})
        return out

    def passage_ids(self, doc_ids: Sequence[int] | None = None) -> np.ndarray:
        if doc_ids is None:
            rows = self.db.execute("SELECT id FROM passages")
            return np.fromiter((r[0] for r in rows), dtype=np.int64)
        out: list[int] = []
        for start in range(0, len(doc_ids), 500):
            chunk = list(doc_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out.extend(r[0] for r in self.db.execute(f"SELECT id FROM passages WHERE doc IN ({marks})", chunk))
        return np.asarray(out, dtype=np.int64)

    def passage_rows(self, ids: Sequence[int] | None = None) -> Iterator[tuple[int, int, str]]:
        """(passage id, doc id, text) of every passage (or `ids`): what the lexical index is built from."""
        if ids is None:
            yield from self.db.execute("SELECT id, doc, text FROM passages ORDER BY id")
            return
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(f"SELECT id, doc, text FROM passages WHERE id IN ({marks})", chunk)

    def passage_vectors(self, model: str, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, float32 matrix) for all passages (or `ids`), from stored vectors."""
        sql = (
            "SELECT p.id, v.vector FROM passages p JOIN vectors v "
            "ON v.text_hash = p.text_hash AND v.model = ?"
        )
        params: list[object] = [model]
        if ids is not None:
            marks = ",".join("?" * len(ids))
            sql += f" WHERE p.id IN ({marks})"
            params.extend(int(i) for i in ids)
        rows = self.db.execute(sql + " ORDER BY p.id", params).fetchall()
        dim = self.model()[1] if self.model() else 0
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
        pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return pids, matrix

    def known_vectors(self, hashes: Sequence[str], model: str) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT text_hash FROM vectors WHERE model = ? AND text_hash IN ({marks})", [model, *chunk]
            )
            known.update(r[0] for r in rows)
        return known

    def file_state(self) -> dict[str, tuple[int, str]]:
        """path → (doc id, sha256) of every stored document: what discovery compares against."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT path, id, sha256 FROM documents")}

    def failures(self) -> list[dict[str, object]]:
        """Files whose last ingest attempt failed: path, stage, error."""
        rows = self.db.execute("SELECT path, stage, error FROM failures ORDER BY path")
        return [{"path": r[0], "stage": r[1], "error": r[2]} for r in rows]

    def refs(self, doc_id: int) -> list[Reference]:
        rows = self.db.execute("SELECT kind, value, text FROM refs WHERE doc = ?", (doc_id,))
        return [Reference(r[0], r[1], r[2]) for r in rows]

    def counts(self) -> dict[str, int]:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": one("SELECT COUNT(*) FROM documents"),
            "pages": one("SELECT COUNT(*) FROM pages"),
            "passages": one("SELECT COUNT(*) FROM passages"),
            "vectors": one("SELECT COUNT(*) FROM vectors"),
            "failures": one("SELECT COUNT(*) FROM failures"),
        }

    # --- writing ------------------------------------------------------------------------------

    def unique_key(self, stem: str, path: str) -> str:
        """The document's short id: its file stem, or stem-<hash> when another file has that stem."""
        row = self.db.execute("SELECT path FROM documents WHERE key = ?", (stem,)).fetchone()
        if row is None or row[0] == path:
            return stem
        return f"{stem}-{hashlib.sha1(path.encode()).hexdigest()[:6]}"

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

        `vectors` maps text hash → vector for passages whose hash the store does not know yet.
        """
        text = extraction.text
        with self.transaction():
            change, old_hashes = self._delete_path(path)
            key = self.unique_key(Path(path).stem, path)
            values = {name: getattr(letter, name) for name in FIELD_NAMES}
            columns = ["key", "path", "sha256", "size", "format", "text", "sidebar", "added_at", *values]
            marks = ",".join("?" * len(columns))
            cursor = self.db.execute(
                f"INSERT INTO documents ({', '.join(columns)}) VALUES ({marks})",
                [key, path, sha256, size, format, text, extraction.sidebar, time.time(), *values.values()],
            )
            doc_id = int(cursor.lastrowid)
            offset = 0
            page_rows = []
            for page in extraction.pages:
                page_rows.append((doc_id, page.number, offset, offset + len(page.text), int(page.ocr)))
                offset += len(page.text) + 2
            self.db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?, ?)", page_rows)
            for seq, passage in enumerate(passages):
                cursor = self.db.execute(
                    "INSERT INTO passages (doc, seq, page_start, page_end, char_start, char_end, text, text_hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, seq, passage.page_start, passage.page_end, passage.char_start,
                     passage.char_end, passage.text, text_hash(passage.text)),
                )
                change.added.append(int(cursor.lastrowid))
            self.db.executemany(
                "INSERT OR IGNORE INTO vectors VALUES (?, ?, ?)",
                [(h, model, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )
            self.db.executemany(
                "INSERT INTO refs VALUES (?, ?, ?, ?)",
                [(doc_id, r.kind, r.value, r.text) for r in dict.fromkeys(letter.references)],
            )
            self.db.execute("DELETE FROM failures WHERE path = ?", (path,))
            self._drop_orphan_vectors(old_hashes)
            self._bump_generation()
        return change

    def record_failure(self, path: str, sha256: str | None, stage: str, error: str) -> None:
        """Remember a file that could not be ingested; what was stored for it before stays."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)", (path, sha256, stage, error, time.time())
            )

    def forget_failures(self, paths: Sequence[str]) -> None:
        """Drop the recorded failures of these paths (files that are gone)."""
        with self.transaction():
            self.db.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in paths])

    def remove_paths(self, paths: Sequence[str]) -> Change:
        """Remove documents by path, one transaction each."""
        total = Change([], [], [])
        for path in paths:
            with self.transaction():
                change, hashes = self._delete_path(path)
                self._drop_orphan_vectors(hashes)
                self.db.execute("DELETE FROM failures WHERE path = ?", (path,))
                self._bump_generation()
            total += change
        return total

    def _delete_path(self, path: str) -> tuple[Change, set[str]]:
        """Delete a document's rows; return the change and the text hashes its passages had."""
        row = self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        if row is None:
            return Change([], [], []), set()
        rows = self.db.execute("SELECT id, text_hash FROM passages WHERE doc = ?", (row[0],)).fetchall()
        self.db.execute("DELETE FROM documents WHERE id = ?", (row[0],))
        return Change([], [r[0] for r in rows], [row[0]]), {r[1] for r in rows}

    def _drop_orphan_vectors(self, hashes: set[str]) -> None:
        """Forget vectors no passage uses any more (identical passages elsewhere keep theirs)."""
        self.db.executemany(
            "DELETE FROM vectors WHERE text_hash = ? AND NOT EXISTS"
            " (SELECT 1 FROM passages WHERE text_hash = ?)",
            [(h, h) for h in hashes],
        )

    def integrity(self) -> list[str]:
        """Problems inside the store itself (empty list when sound)."""
        problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        model = self.model()
        if model:
            missing = self.db.execute(
                "SELECT COUNT(*) FROM passages p LEFT JOIN vectors v ON v.text_hash = p.text_hash AND v.model = ?"
                " WHERE v.text_hash IS NULL",
                (model[0],),
            ).fetchone()[0]
            if missing:
                problems.append(f"{missing} passages have no stored vector for {model[0]}")
        bad_spans = 0
        for doc_id, text in self.db.execute("SELECT id, text FROM documents"):
            for start, end, ptext in self.db.execute(
                "SELECT char_start, char_end, text FROM passages WHERE doc = ?", (doc_id,)
            ):
                bad_spans += text[start:end] != ptext
        if bad_spans:
            problems.append(f"{bad_spans} passages whose span does not match their document text")
        return problems

    # --- reads for the web app

    def documents_by_keys(self, keys: Sequence[str]) -> dict[str, DocumentRow]:
        """key → row for the stored documents among `keys` (unknown keys are left out)."""
        out: dict[str, DocumentRow] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            out.update({d.key: d for d in self.documents(f"WHERE key IN ({','.join('?' * len(chunk))})", chunk)})
        return out
