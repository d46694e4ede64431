"""`Archive`: the library's one entry point. Each method is a few lines over indexer/ and the
query modules, and each CLI command is one call of it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archive.errors import DocumentNotFound, ModelMismatch
from archive.evaluate import EvalReport, evaluate
from archive.search import MODES, Filters, Hit, kamerstuk_documents, search
from indexer.derived import DerivedIndexes
from indexer.encoders import Encoder, PrecisionError
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
        precision: str | None = None,
        create: bool = True,
        repair: bool = True,
    ) -> Archive:
        """Open the archive in `path` (created if missing unless create=False).

        Raises ModelMismatch when `model` differs from the model the archive was built with, and
        StoreError for an archive of another format version. `precision` (auto, fp32, bf16, fp16)
        is what ingest embeds passages in; default $ARCHIVE_PRECISION, else auto. With `repair`, stale derived indexes
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
        try:
            encoder = Encoder(model or (recorded[0] if recorded else None), precision=precision)
        except PrecisionError:
            store.close()
            raise
        archive = cls(store, encoder)
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
        workers: int | None = None,
        passage_tokens: int = DEFAULT_TARGET_TOKENS,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        """Add new and changed files under `paths`; skip unchanged ones; with prune, drop vanished ones.

        Raises ArchiveLocked if another process is writing. Per-file problems do not raise: they
        are in the report's `failed` list and the other files are still ingested.
        """
        from indexer.ingest import ingest  # the extractors' imports are paid only by ingest

        with self.store.writer_lock():
            if self.store.model() is None:
                self.store.set_model(self.encoder.model_id, self.encoder.dim)
            before = self.store.generation
            total = Change([], [], [])
            report = ingest(
                self.store, self.encoder, [Path(p) for p in paths], prune=prune, timeout=timeout,
                workers=workers, passage_tokens=passage_tokens, progress=progress, on_commit=total.__iadd__,
            )
            self.indexes.apply(total, before)
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
