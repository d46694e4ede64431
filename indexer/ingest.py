"""The ingestion run: discover → extract (worker processes) → letter fields → passages → embed → store.

Files whose content hash is already stored are skipped before anything is read. Extraction runs
in worker processes with a per-file time limit, so a PDF that hangs pdfplumber or Tesseract costs
one reported failure, not the run. Each document is written in its own transaction; a failed file
leaves whatever was stored for it before untouched.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.backend import StoreBackend
from indexer.discover import discover
from indexer.encoders import Encoder
from indexer.executor import Executor, LocalExecutor
from indexer.extract_xml import sidecar_files
from indexer.passages import DEFAULT_TARGET_TOKENS, split_passages
from indexer.report import FileError, IngestReport
from indexer.store import Change, file_sha256, text_hash
from indexer.workers import MEMORY_MIB, Prepared

EMBED_BATCH = 1024
"""Passages gathered across documents before calling the encoder (fewer when the next file is
not extracted yet). The encoder sorts them by token count, so the more it is given, the less
padding its batches carry: 1,141 passages of moties and Aanhangsels embedded at 11.0/s in one call
against 9.9/s in calls of 256 (2 cores, then 32 passages per forward pass). A crash loses at
most this much embedding work (about 75 s at 14 passages/s); what was committed stays."""


MAX_PASSAGES = 20_000
"""Passages one document may become before the run warns about it. A 100 MB text file became
163,800 passages (about 640 bytes each), so 20,000 is some 12 MB of text, a book of thousands of
pages and about 24 minutes of embedding at 14 passages/s (the largest PDFs of the shared corpus,
2.7 and 3.8 MB, give 15 and 14). Above it the document is still stored (a long Handelingen
volume is legitimate, and refusing it would drop it from search), but the report says so, so that
a log or data dump dropped in the folder by mistake does not silently cost hours."""


@dataclass
class _Pending:
    prepared: Prepared
    passages: list
    missing: list[str]


def ingest(
    store: StoreBackend,
    encoder: Encoder,
    paths: Sequence[Path | str],
    *,
    prune: bool = False,
    workers: int | None = None,
    timeout: float = 300.0,
    memory_mib: int = MEMORY_MIB,
    max_passages: int = MAX_PASSAGES,
    passage_tokens: int = DEFAULT_TARGET_TOKENS,
    progress: Callable[[int, int, str], None] | None = None,
    on_commit: Callable[[Change], None] | None = None,
    executor: Executor | None = None,
) -> IngestReport:
    """Bring the store up to date with the files under `paths`.

    Args:
        prune: also remove stored documents under these folders whose files are gone.
        timeout: seconds one file may take to extract (OCR included) before it counts as failed.
        memory_mib: address space one extraction worker may map (see indexer.workers.MEMORY_MIB).
        max_passages: a document with more passages is stored with a warning (see MAX_PASSAGES).
        passage_tokens: target passage size in model tokens (see indexer.passages).
        progress: called as (done, total, path) after each file.
        on_commit: called with each batch's passage changes after they are stored, so derived
            indexes can follow the store.
        executor: where files are extracted and passages embedded (default: `workers` extraction
            processes here and `encoder`; `indexer.ray_ingest.RayExecutor` for a Ray cluster).
            Splitting into passages and writing stay in this process either way.
    """
    executor = executor or LocalExecutor(encoder, workers=workers, batch=EMBED_BATCH)
    started = time.perf_counter()
    report = IngestReport()
    found = discover(paths)
    for problem, reason in found.problems:
        _fail(store, report, FileError(str(problem.absolute()), "discover", reason), None)
    stored = store.file_state()
    sidecars = sidecar_files(found.files)  # metadata.xml and other renderings of one publication
    todo: list[tuple[Path, str, int]] = []
    for path in (f for f in found.files if f not in sidecars):
        try:
            sha, size = file_sha256(path), path.stat().st_size
        except OSError as error:
            report.failed.append(FileError(str(path), "read", error.strerror or str(error)))
            continue
        known = stored.get(str(path))
        if known and known[1] == sha:
            report.skipped.append(str(path))
        else:
            todo.append((path, sha, size))
    if prune:
        roots = [str(Path(p).absolute()) for p in paths]
        gone = [p for p in stored if any(_under(p, r) for r in roots) and not os.path.exists(p)]
        change = store.remove_paths(gone)
        report.removed.extend(gone)
        failed = (str(row["path"]) for row in store.failures())
        store.forget_failures([f for f in failed if any(_under(f, r) for r in roots) and not os.path.lexists(f)])
        if on_commit:
            on_commit(change)

    total = len(found.files) - len(sidecars)
    done = len(report.skipped)
    pending: list[_Pending] = []

    def flush() -> None:
        _flush(store, encoder.model_id, executor, pending, report, stored, on_commit)
        pending.clear()

    for path, outcome in executor.extract(todo, timeout=timeout, memory_mib=memory_mib, idle=flush):
        done += 1
        if isinstance(outcome, FileError):
            _fail(store, report, outcome, None)
        else:
            pending.append(_split(store, encoder, outcome, passage_tokens))
            if len(pending[-1].passages) > max_passages:
                report.warnings.append(FileError(
                    str(path), "passages", f"{len(pending[-1].passages):,} passages, more than the limit of "
                    f"{max_passages:,}: stored, but check that this file belongs in the archive",
                ))
            if sum(len(item.missing) for item in pending) >= executor.batch:
                flush()
        if progress:
            progress(done, total, str(path))
    flush()
    report.seconds = time.perf_counter() - started
    return report


def _fail(store: StoreBackend, report: IngestReport, error: FileError, sha256: str | None) -> None:
    """Report a file's failure and remember it for `check`; a path the store cannot record
    (disk full aside) is still in the report."""
    report.failed.append(error)
    try:
        store.record_failure(error.path, sha256, error.stage, error.error)
    except Exception as failure:  # noqa: BLE001 - the failure is already reported
        if storage_full(failure):
            raise


POSTGRES_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE for a full disk on the server (psycopg.errors.DiskFull), read from the
error's `sqlstate` so that psycopg is not imported where no archive lives in PostgreSQL."""


def storage_full(error: BaseException) -> bool:
    """Is this the disk (or the file size limit) running out, which no other file will escape?
    Here (OSError, SQLite's "database or disk is full") or on a PostgreSQL server."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    if getattr(error, "sqlstate", None) == POSTGRES_DISK_FULL:
        return True
    return isinstance(error, sqlite3.OperationalError) and "full" in str(error)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _split(store: StoreBackend, encoder: Encoder, prepared: Prepared, passage_tokens: int) -> _Pending:
    extraction = prepared.extraction
    offsets = [(page.number, start) for page, start in zip(extraction.pages, extraction.page_starts())]
    passages = split_passages(
        extraction.text, offsets, encoder.count_tokens, token_limit=encoder.token_limit, target_tokens=passage_tokens
    )
    hashes = list(dict.fromkeys(text_hash(p.text) for p in passages))
    known = store.known_vectors(hashes, encoder.model_id)
    return _Pending(prepared, passages, [h for h in hashes if h not in known])


def _flush(
    store: StoreBackend,
    model: str,
    executor: Executor,
    pending: list[_Pending],
    report: IngestReport,
    stored: dict[str, tuple[int, str]],
    on_commit: Callable[[Change], None] | None,
) -> None:
    """Embed what the pending documents need (each distinct text once), then store each document."""
    if not pending:
        return
    texts: dict[str, str] = {}
    for item in pending:
        for passage in item.passages:
            digest = text_hash(passage.text)
            if digest in item.missing:
                texts.setdefault(digest, passage.text)
    started = time.perf_counter()
    matrix = executor.embed(list(texts.values()))
    report.encoder_seconds += time.perf_counter() - started
    report.embedded += len(texts)
    if texts:
        report.precision = executor.precision
    vectors = dict(zip(texts, matrix))
    change = Change([], [], [])
    for item in pending:
        prepared = item.prepared
        path = str(prepared.path)
        if not item.passages:
            error = FileError(path, "extract", "no text found (empty, or a scan that OCR could not read)")
            _fail(store, report, error, prepared.sha256)
            continue
        try:
            change += store.write_document(
                path=path,
                sha256=prepared.sha256,
                size=prepared.size,
                format=prepared.path.suffix.lower().lstrip("."),
                extraction=prepared.extraction,
                letter=prepared.letter,
                passages=item.passages,
                vectors={h: vectors[h] for h in item.missing},
                model=model,
            )
        except Exception as error:  # noqa: BLE001 - one document's transaction failed and was rolled back
            if isinstance(error, OSError) or storage_full(error):
                if on_commit:
                    on_commit(change)  # what was committed before goes to the derived indexes
                raise
            _fail(store, report, FileError(path, "store", _describe(error)), prepared.sha256)
            continue
        (report.updated if path in stored else report.added).append(path)
        report.pages += len(prepared.extraction.pages)
        report.passages += len(item.passages)
    if on_commit:
        on_commit(change)


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
