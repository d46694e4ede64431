"""`Archive`: the library's one entry point. Each method is a few lines over indexer/ and the
query modules, and each CLI command is one call of it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archive.errors import BadQuery, DocumentNotFound, ModelMismatch, StorageFull
from archive.evaluate import EvalReport, evaluate
from archive.search import MAX_K, MODES, Filters, Hit, kamerstuk_documents, search
from indexer.derived import DerivedIndexes
from indexer.encoder import Encoder
from indexer.report import IngestReport
from indexer.passages import DEFAULT_TARGET_TOKENS
from indexer.records import Reference
from indexer.references import normalise_kamerstuk
from indexer.store import ArchiveLocked, Change, DocumentRow, Store

DEFAULT_PATH = "index"


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
    """A searchable archive of letters stored in one directory.

    >>> a = Archive.open("index/")
    >>> a.ingest(["corpus/"]).ok
    >>> a.search("onveilige werksfeer op het ministerie", k=5)
    """

    def __init__(self, store: Store, encoder: Encoder):
        self.store = store
        self.encoder = encoder
        self.indexes = DerivedIndexes(store)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        model: str | None = None,
        create: bool = True,
        repair: bool = True,
    ) -> Archive:
        """Open the archive in `path` (created if missing unless create=False).

        Raises ModelMismatch when `model` differs from the model the archive was built with, and
        StoreError for an archive of another format version. With `repair`, stale derived indexes
        (after a crash) are rebuilt from the store unless a writer is busy with it right now.
        """
        store = Store.open(Path(path), create=create)
        recorded = store.model()
        if model and recorded and model != recorded[0]:
            store.close()
            raise ModelMismatch(
                f"{path} was built with model {recorded[0]}, not {model}; search it without --model, "
                f"or ingest into another directory to use {model}"
            )
        archive = cls(store, Encoder(model or (recorded[0] if recorded else None)))
        if repair and archive.indexes.problems():
            try:
                with store.writer_lock():
                    archive.indexes.rebuild()
            except ArchiveLocked:
                pass  # an ingest is running; search the indexes as they are, filtered by the store
        return archive

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
    ) -> IngestReport:
        """Add new and changed files under `paths`; skip unchanged ones; with prune, drop vanished ones.

        Limits per file: `timeout` seconds and `memory_mib` MiB of address space to extract it
        (default indexer.workers.MEMORY_MIB), past which it fails; more than `max_passages`
        passages (default indexer.ingest.MAX_PASSAGES) is stored with a report warning.

        Raises ArchiveLocked if another process is writing, StorageFull if the disk fills up
        (documents committed before stay). Per-file problems do not raise: they are in the
        report's `failed` list and the other files are still ingested.
        """
        from indexer.ingest import MAX_PASSAGES, MEMORY_MIB, ingest, storage_full  # paid only by ingest

        with self.store.writer_lock():
            before = self.store.generation
            total = Change([], [], [])
            try:
                if self.store.model() is None:
                    self.store.set_model(self.encoder.model_id, self.encoder.dim)
                report = ingest(
                    self.store, self.encoder, [Path(p) for p in paths], prune=prune, timeout=timeout,
                    memory_mib=memory_mib or MEMORY_MIB, max_passages=max_passages or MAX_PASSAGES,
                    workers=workers, passage_tokens=passage_tokens, progress=progress, on_commit=total.__iadd__,
                )
                self.indexes.apply(total, before)
            except Exception as error:
                if not storage_full(error):
                    raise
                _remove_temp_files(self.store.directory)
                raise StorageFull(
                    f"{self.store.directory}: the disk is full ({error}); the documents stored before "
                    f"this one are kept. Free space on that disk and run ingest again to add the rest"
                ) from error
        return report

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
    ) -> list[Hit]:
        """Ranked passages with citations; raises BadQuery for an empty query or k out of range."""
        filters = Filters(date_from, date_to, sender, doc_type, dossier, kenmerk)
        return search(self.store, self.indexes, self.encoder, query, k=k, mode=mode, filters=filters, per_doc=per_doc)

    def resolve(self, doc: str) -> DocumentRow:
        """The stored document named by its id, its file path, its kenmerk or its Kamerstuk number
        ("36410-XVI-137", "36 410 XVI, nr. 137": what a clerk has at hand)."""
        for where, value in (
            ("WHERE key = ?", doc),
            ("WHERE path = ?", str(Path(doc).absolute())),
            ("WHERE replace(lower(kenmerk), ' ', '') = ?", doc.lower().replace(" ", "")),
        ):
            found = self.store.documents(where, (value,))
            if found:
                return found[0]
        if (kamerstuk := normalise_kamerstuk(doc)) and (found := kamerstuk_documents(self.store, kamerstuk)):
            return found[0]
        raise DocumentNotFound(f"no document with id, path, kenmerk or Kamerstuk number {doc!r}")

    def show(self, doc: str) -> DocumentView:
        row = self.resolve(doc)
        text = self.store.document_text(row.id)
        pages = [PageText(n, ocr, text[start:end]) for n, start, end, ocr in self.store.pages(row.id)]
        return DocumentView(asdict(row), self.store.sidebar(row.id), self.store.refs(row.id), pages)

    def remove(self, docs: Sequence[str]) -> list[str]:
        """Remove documents (by id, path, kenmerk or Kamerstuk number); returns the removed paths."""
        with self.store.writer_lock():
            paths = [self.resolve(doc).path for doc in docs]
            before = self.store.generation
            self.indexes.apply(self.store.remove_paths(paths), before)
        return paths

    def check(self) -> CheckReport:
        """Is the store sound and are the derived indexes in step with it?"""
        problems = self.store.integrity() + self.indexes.problems()
        model = self.store.model()
        failures = self.store.failures()
        return CheckReport(
            not problems, problems, self.store.counts(), self.store.generation, model[0] if model else None, failures
        )

    def rebuild(self) -> CheckReport:
        """Rewrite FAISS and the lexical index from the store (no re-embedding)."""
        with self.store.writer_lock():
            self.indexes.rebuild()
        return self.check()

    def evaluate(self, queries: str | os.PathLike[str], modes: Sequence[str] = MODES) -> EvalReport:
        """MRR@10, Recall@1/5/10/100 and nDCG@10 per mode over a JSONL query file (documents ranked)."""
        return evaluate(
            Path(queries),
            self.store.documents(),
            lambda query, mode: self.search(query, k=100, mode=mode, per_doc=True),
            modes,
        )

    def related(self, doc: str, *, thread: bool = False, k_similar: int = 5) -> list[Relation]:  # noqa: F821
        """Documents related to `doc` (id, path, kenmerk or Kamerstuk number), grouped by kind, each with its reason.

        Kinds, in order: answers, answered_by, question, answer, same_dossier, cites, cited_by,
        similar (the `k_similar` nearest by mean passage vector that are not listed already).
        With `thread`, only the reply chain (answers and Kamervragen links, followed transitively)
        earliest first, `doc` itself included as kind "self". Raises DocumentNotFound.
        """
        from archive.related import related, thread as reply_thread

        row = self.resolve(doc)
        if thread:
            return reply_thread(self.store, row)
        model = self.store.model()
        return related(self.store, row, model=model[0] if model else None, k_similar=k_similar)

    # --- for the web app (archive/web): one call per page or endpoint

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
    ) -> list[Hit]:
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



def _remove_temp_files(directory: Path) -> None:
    """Remove the half-written files this process left in the archive (index and stamp temp
    files, a lexical build folder), so a full disk gets its space back."""
    pid = os.getpid()
    for leftover in directory.rglob(".*"):
        if leftover.name.endswith(f".{pid}.tmp") or leftover.name.endswith(f".build-{pid}"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


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
