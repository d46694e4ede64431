"""`Archive`: the library's one entry point. Each method is a few lines over indexer/ and the
query modules, and each CLI command is one call of it."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from archive.errors import (
    ArchiveLocked, BadQuery, DocumentNotFound, ModelMismatch, RayIngestError, StorageFull, StoreError,
)
from archive.evaluate import EvalReport, evaluate
from archive.search import MAX_K, MODES, Filters, Hit, Hits, kamerstuk_documents, search
from indexer.backend import IndexBackend, StoreBackend, open_backend
from indexer.encoders import Encoder
from indexer.report import IngestReport
from indexer.passages import DEFAULT_TARGET_TOKENS
from indexer.records import Reference
from indexer.references import normalise_kamerstuk
from indexer.migrate import MigrationReport
from indexer.store import STORE_FILE, Change, DocumentRow, Store, unreadable

DEFAULT_PATH = "index"
OPEN_REPAIR_ERRORS = (OSError, ArchiveLocked)
"""Why an open may leave stale indexes unrepaired and search them as they are: a writer is busy
with them, or writing failed (a full disk, a read-only file); the store filters out what is gone."""

Method = TypeVar("Method", bound=Callable[..., Any])


def diagnosed(method: Method) -> Method:
    """Word SQLite's "file is not a database" / "disk image is malformed", met while reading a
    damaged store, as a StoreError naming the file instead of a traceback; and a PostgreSQL server
    that went away (or refused the connection) as a StoreError naming the database."""

    @wraps(method)
    def wrapper(self: Archive, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as error:
            if type(error) is not sqlite3.DatabaseError:  # locked, full, constraint: not damage
                raise
            raise unreadable(Path(self.store.location) / STORE_FILE, error) from error
        except Exception as error:
            psycopg = sys.modules.get("psycopg")  # imported only by an archive in PostgreSQL
            if psycopg is None or not isinstance(error, psycopg.OperationalError):
                raise
            raise StoreError(
                f"the archive database {self.store.location} cannot be reached: {str(error).strip()}"
            ) from error

    return wrapper  # type: ignore[return-value]


@dataclass
class PageText:
    page: int
    ocr: bool
    text: str


@dataclass
class DocumentView:
    """What `archive show` prints: metadata, references, and the cleaned text page by page."""

    document: dict[str, object]
    sidebar: str
    references: list[Reference]
    pages: list[PageText]


@dataclass
class CheckReport:
    ok: bool
    problems: list[str]
    counts: dict[str, int]
    generation: int
    model: str | None
    failures: list[dict[str, object]] = field(default_factory=list)
    """Files that could not be ingested on their last attempt (path, stage, error)."""


class Archive:
    """A searchable archive of letters stored in one directory or one PostgreSQL database.

    >>> a = Archive.open("index/", create=True)
    >>> a.ingest(["corpus/"]).ok
    >>> a.search("onveilige werksfeer op het ministerie", k=5)
    """

    def __init__(self, store: StoreBackend, encoder: Encoder, indexes: IndexBackend):
        self.store = store
        self.encoder = encoder
        self.indexes = indexes
        self._notes: list[str] = []

    @property
    def warnings(self) -> list[str]:
        """What a user of this archive should be told: read-only or immutable opens, stale indexes
        searched as they are, a repair that failed. Empty for a sound, writable archive."""
        return self.store.notes + self.indexes.notes + self._notes

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        model: str | None = None,
        precision: str | None = None,
        create: bool = False,
        repair: bool = True,
    ) -> Archive:
        """Open the archive in `path`: a directory (the embedded archive: SQLite, FAISS, tantivy) or
        a `postgresql://` URL (the PostgreSQL backend, `indexer.postgres`); with `create` (what
        ingest passes), make a new one there if it holds none.

        Raises StoreError, naming the path and what to do, when there is no archive, or the store is
        empty, damaged, not an archive, of another format version, or a new store beside indexes
        of a lost one (never replaced silently); ModelMismatch when `model` differs from the model
        the archive was built with. With `repair`, stale or damaged derived indexes are rebuilt from
        the store, unless the archive is read-only, a writer is busy, or writing fails (a full
        disk): then the indexes are searched as they are and `warnings` says so. Without `repair`
        (what `check` and `rebuild` use) nothing is written on opening: a store of an older format
        is not upgraded either, so only `check` and `rebuild` should be asked of it then.
        `precision` (auto, fp32, bf16, fp16) is what ingest embeds passages in; default
        $ARCHIVE_PRECISION, else auto.
        """
        store, indexes = open_backend(path, create=create, upgrade=repair)
        try:
            recorded = store.model()
            if model and recorded and model != recorded[0]:
                raise ModelMismatch(
                    f"{store.location} was built with model {recorded[0]}, not {model}; open it without naming a "
                    f"model, or ingest into another archive to use {model}"
                )
            archive = cls(store, Encoder(model or (recorded[0] if recorded else None), precision=precision), indexes)
            if (foreign := archive.indexes.foreign()) is not None:
                raise StoreError(foreign)
            archive._repair(repair)
        except sqlite3.DatabaseError as error:
            store.close()
            if type(error) is not sqlite3.DatabaseError:
                raise
            raise unreadable(Path(path) / STORE_FILE, error) from error
        except BaseException:
            store.close()
            raise
        return archive

    def refresh(self) -> int:
        """Take up what other processes committed since this archive was opened, and return the
        store's generation. Every search, show and related call already reads the latest commit
        (one SQLite snapshot per call) and reloads an index another process rewrote (one stat of
        its stamp), so a long-lived archive, such as a server's, never answers from a stale index;
        calling this loads a newer index ahead of the next search."""
        self.indexes.vectors()
        self.indexes.lexical()
        return self.store.generation

    def _repair(self, repair: bool) -> None:
        """Rebuild stale or damaged derived indexes when allowed and possible; otherwise note why
        the indexes are searched as they are."""
        problems = self.indexes.problems(thorough=False)
        if not problems or not repair:
            return
        if self.store.read_only:
            self._notes += [f"{p}; the archive is read-only, so it is searched as it is" for p in problems]
            return
        try:
            with self.store.writer_lock():
                self.indexes.rebuild()
        except OPEN_REPAIR_ERRORS as error:
            if isinstance(error, ArchiveLocked):
                return  # an ingest is running and will bring the indexes up to date
            self._notes.append(
                f"could not rebuild the indexes in {self.store.location} ({error.strerror or error}); "
                "searching them as they were, without what changed since. Free space and rebuild them"
            )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        prune: bool = False,
        timeout: float = 300.0,
        memory_mib: int | None = None,
        max_passages: int | None = None,
        workers: int | None = None,
        passage_tokens: int = DEFAULT_TARGET_TOKENS,
        progress: Callable[[int, int, str], None] | None = None,
        ray: bool | str = False,
    ) -> IngestReport:
        """Add new and changed files under `paths`; skip unchanged ones; with prune, drop vanished ones.

        Limits per file: `timeout` seconds and `memory_mib` MiB of address space to extract it
        (default indexer.workers.MEMORY_MIB), past which it fails; more than `max_passages`
        passages (default indexer.ingest.MAX_PASSAGES) is stored with a report warning.

        `ray` extracts and embeds on a Ray cluster (needs `archive[ray]`): True for the cluster this
        machine knows or a new local one, or the cluster's address; `workers` is then the number
        of encoder actors. Writes stay in this process (see indexer.ray_ingest).

        Raises ArchiveLocked if another process is writing, StorageFull if the disk fills up
        (documents committed before stay). Per-file problems do not raise: they are in the
        report's `failed` list and the other files are still ingested.
        """
        from indexer.ingest import EMBED_BATCH, MAX_PASSAGES, MEMORY_MIB, ingest, storage_full  # paid only by ingest

        with self.store.writer_lock(), self._executor(ray, workers, EMBED_BATCH) as executor:
            before = self.store.generation
            total = Change([], [], [])
            try:
                if self.store.model() is None:
                    self.store.set_model(self.encoder.model_id, self.encoder.dim)
                report = ingest(
                    self.store, self.encoder, [Path(p) for p in paths], prune=prune, timeout=timeout,
                    memory_mib=memory_mib or MEMORY_MIB, max_passages=max_passages or MAX_PASSAGES,
                    workers=workers, passage_tokens=passage_tokens, progress=progress, on_commit=total.__iadd__,
                    executor=executor,
                )
                self.indexes.apply(total, before)
            except Exception as error:
                if not storage_full(error):
                    raise
                self.indexes.remove_leftovers()  # under the writer lock: a full disk gets its space back
                raise StorageFull(
                    f"{self.store.location}: the disk is full ({error}); the documents stored before "
                    f"this one are kept. Free space on that disk and run ingest again to add the rest"
                ) from error
        return report

    def _executor(self, ray: bool | str, workers: int | None, batch: int) -> AbstractContextManager:
        """Ray's executor when asked for (Ray is imported only then), else None: ingest's local one."""
        if ray is False:
            return nullcontext()
        try:
            from indexer.ray_ingest import RayExecutor
        except ImportError as error:
            raise RayIngestError(f"ingest on Ray needs the ray package ({error}); install archive[ray]") from error
        return RayExecutor(None if ray is True else ray, self.encoder, workers=workers, batch=batch)

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str = "hybrid",
        per_doc: bool = False,
        date_from: str | None = None,
        date_to: str | None = None,
        sender: str | None = None,
        doc_type: str | None = None,
        dossier: str | None = None,
        kenmerk: str | None = None,
    ) -> Hits:
        """Ranked passages with citations; raises BadQuery for an empty query or k out of range."""
        filters = Filters(date_from, date_to, sender, doc_type, dossier, kenmerk)
        return self.query(query, filters, k=k, mode=mode, per_doc=per_doc)

    def resolve(self, doc: str) -> DocumentRow:
        """The stored document named by its id, its file path, its kenmerk or its Kamerstuk number
        ("36410-XVI-137", "36 410 XVI, nr. 137": what a clerk has at hand)."""
        if found := self.store.document_by_key(doc) or self.store.document_by_path(str(Path(doc).absolute())):
            return found
        if found := self.store.documents_by_kenmerk(doc):
            return found[0]
        if (kamerstuk := normalise_kamerstuk(doc)) and (found := kamerstuk_documents(self.store, kamerstuk)):
            return found[0]
        raise DocumentNotFound(f"no document with id, path, kenmerk or Kamerstuk number {doc!r}")

    @diagnosed
    def show(self, doc: str) -> DocumentView:
        row = self.resolve(doc)
        text = self.store.document_text(row.id)
        pages = [PageText(n, ocr, text[start:end]) for n, start, end, ocr in self.store.pages(row.id)]
        return DocumentView(asdict(row), self.store.sidebar(row.id), self.store.refs(row.id), pages)

    @diagnosed
    def remove(self, docs: Sequence[str]) -> list[str]:
        """Remove documents (by id, path, kenmerk or Kamerstuk number); returns the removed paths."""
        with self.store.writer_lock():
            paths = [self.resolve(doc).path for doc in docs]
            before = self.store.generation
            self.indexes.apply(self.store.remove_paths(paths), before)
        return paths

    @diagnosed
    def check(self) -> CheckReport:
        """Is the store sound and are the derived indexes in step with it and undamaged? Writes
        nothing: SQLite's quick_check, the index stamps, and samples of the store's vectors and
        passage ids looked up in FAISS and the lexical index."""
        problems = self.store.integrity() + self.indexes.problems(thorough=True)
        model = self.store.model()
        failures = self.store.failures()
        return CheckReport(
            not problems, problems, self.store.counts(), self.store.generation, model[0] if model else None, failures
        )

    @diagnosed
    def rebuild(self) -> CheckReport:
        """Rewrite FAISS and the lexical index from the store (no re-embedding); the check after it
        lists what a rebuild cannot repair (damage inside the store). Raises StoreError when the
        indexes cannot be written (the old ones are then left as they were)."""
        with self.store.writer_lock():
            try:
                self.indexes.rebuild()
            except OSError as error:
                raise StoreError(
                    f"could not rebuild the indexes in {self.store.location}: {error.strerror or error}; "
                    "the old indexes are left as they were"
                ) from error
        return self.check()

    @diagnosed
    def migrate(self, url: str, *, progress: Callable[[int, int], None] | None = None) -> MigrationReport:
        """Copy this embedded archive into the empty PostgreSQL database at `url`, stored vectors and
        ids included (nothing is re-embedded), one transaction per document, and compare the copy
        with it (counts, passage ids, sampled vectors): the report lists any difference. Holds both
        archives' writer locks. Raises StoreError when this archive is not a directory, or the
        database cannot be reached or already holds an archive."""
        from indexer.migrate import migrate
        from indexer.postgres import PostgresStore

        if not isinstance(self.store, Store):
            raise StoreError(f"{self.store.location} is already a database; migrate copies an archive directory")
        target = PostgresStore.open(url, create=True)
        try:
            with self.store.writer_lock(), target.writer_lock():
                return migrate(self.store, target, progress=progress)
        finally:
            target.close()

    @diagnosed
    def evaluate(self, queries: str | os.PathLike[str], modes: Sequence[str] = MODES) -> EvalReport:
        """MRR@10, Recall@1/5/10/100 and nDCG@10 per mode over a JSONL query file (documents ranked)."""
        return evaluate(
            Path(queries),
            self.store.documents(),
            lambda query, mode: self.search(query, k=100, mode=mode, per_doc=True),
            modes,
        )

    @diagnosed
    def related(self, doc: str, *, thread: bool = False, k_similar: int = 5) -> list[Relation]:  # noqa: F821
        """Documents related to `doc` (id, path, kenmerk or Kamerstuk number), grouped by kind, each with its reason.

        Kinds, in order: answers, answered_by, question, answer, same_dossier, cites, cited_by,
        similar (the `k_similar` most similar by passage vectors and distinctive terms, not listed already).
        With `thread`, only the reply chain (answers and Kamervragen links, followed transitively)
        earliest first, `doc` itself included as kind "self". Raises DocumentNotFound.
        """
        from archive.related import related, thread as reply_thread

        row = self.resolve(doc)
        if thread:
            return reply_thread(self.store, row)
        return related(self.store, row, indexes=self.indexes, k_similar=k_similar)

    # --- for the web app (archive/web): one call per page or endpoint

    @diagnosed
    def query(
        self,
        query: str,
        filters: Filters = Filters(),
        *,
        k: int = 10,
        mode: str = "hybrid",
        per_doc: bool = False,
        sort: str = "relevance",
        offset: int = 0,
    ) -> Hits:
        """`search` with a `Filters` value, newest-first sorting and paging (`offset` hits skipped)."""
        return search(
            self.store, self.indexes, self.encoder, query, k=k, mode=mode, filters=filters, per_doc=per_doc,
            sort=sort, offset=offset,
        )

    def facets(self, query: str, filters: Filters = Filters(), *, mode: str = "hybrid") -> dict[str, list[Facet]]:
        """Counts of document type, sender, dossier and vergaderjaar over the FACET_DEPTH documents that
        answer `query` best under `filters`, most frequent first."""
        hits = self.query(query, filters, k=FACET_DEPTH, mode=mode, per_doc=True)
        rows = self.store.documents_by_keys([hit.document for hit in hits]).values()
        counted: dict[str, list[Facet]] = {}
        for name in FACET_FIELDS:
            tally: dict[str, int] = {}
            for row in rows:
                if value := getattr(row, name):
                    tally[value] = tally.get(value, 0) + 1
            counted[name] = [Facet(v, n) for v, n in sorted(tally.items(), key=lambda item: (-item[1], item[0]))]
        return counted

    def results(
        self,
        query: str,
        filters: Filters = Filters(),
        *,
        mode: str = "hybrid",
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 10,
    ) -> ResultPage:
        """One page of results grouped per document: each document's best passage, then its other
        passages among the best PASSAGE_DEPTH, with the facets of the query. Raises BadQuery."""
        if page < 1 or (page - 1) * per_page >= MAX_K:
            raise BadQuery(f"page must be between 1 and {MAX_K // per_page}, got {page}")
        best = self.query(query, filters, k=per_page + 1, mode=mode, per_doc=True, sort=sort,
                          offset=(page - 1) * per_page)
        shown = best[:per_page]
        keys = {hit.document for hit in shown}
        more: dict[str, list[Hit]] = {key: [] for key in keys}
        for hit in self.query(query, filters, k=PASSAGE_DEPTH, mode=mode):
            if hit.document in keys and hit.passage_id not in {b.passage_id for b in shown}:
                more[hit.document].append(hit)
        groups = [DocumentHits(hit, sorted(more[hit.document], key=lambda h: h.page_start)) for hit in shown]
        return ResultPage(query, filters, mode, sort, page, per_page, groups, len(best) > per_page,
                          self.facets(query, filters, mode=mode))

    def page(self, doc: str, n: int) -> PageText:
        """Page `n` (from 1) of a document; raises DocumentNotFound for an unknown document or page."""
        for page in self.show(doc).pages:
            if page.page == n:
                return page
        raise DocumentNotFound(f"document {doc!r} has no page {n}")

    def original(self, doc: str) -> tuple[Path, str]:
        """The path the store recorded for the document's file, and its format ("pdf", "txt", …)."""
        row = self.resolve(doc)
        return Path(row.path), row.format

    def reference_targets(self, doc: str) -> dict[str, str]:
        """Kamerstuk and kenmerk references in the document's text, as printed → the stored document
        each names (references to documents outside the archive, or to itself, are left out)."""
        me = self.resolve(doc)
        targets: dict[str, str] = {}
        for ref in self.store.refs(me.id):
            if ref.kind not in ("kamerstuk", "kenmerk") or not ref.text:
                continue
            try:
                target = self.resolve(ref.value)
            except DocumentNotFound:
                continue
            if target.id != me.id:
                targets[ref.text] = target.key
        return targets



FACET_FIELDS = ("doc_type", "sender", "dossier", "vergaderjaar")
FACET_DEPTH = 100
"""Facets count over the 100 best-matching documents: a dense query ranks every document, so
"documents that match" needs a bound; 100 is ten pages of results."""
PASSAGE_DEPTH = 100
"""Passages searched for a result page's "all passages" lists (the default candidate depth)."""


@dataclass
class Facet:
    value: str
    count: int


@dataclass
class DocumentHits:
    """One result card: the document's best passage and its other matching passages, by page."""

    best: Hit
    more: list[Hit]


@dataclass
class ResultPage:
    query: str
    filters: Filters
    mode: str
    sort: str
    page: int
    per_page: int
    groups: list[DocumentHits]
    has_next: bool
    facets: dict[str, list[Facet]]
