"""The ingestion run: discover → extract (worker processes) → letter fields → passages → embed → store.

Files whose content hash is already stored are skipped before anything is read. Extraction runs
in worker processes with a per-file time limit, so a PDF that hangs pdfplumber or Tesseract costs
one reported failure, not the run. Each document is written in its own transaction; a failed file
leaves whatever was stored for it before untouched.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.pool import Pool
from pathlib import Path

import numpy as np

from indexer.discover import discover
from indexer.encoders import Encoder
from indexer.extract import extract
from indexer.extract_xml import sidecar_files
from indexer.letters import parse_letter
from indexer.passages import DEFAULT_TARGET_TOKENS, split_passages
from indexer.records import PAGE_SEPARATOR, Extraction, LetterFields
from indexer.report import FileError, IngestReport
from indexer.store import Change, Store, file_sha256, text_hash

EMBED_BATCH = 1024
"""Passages gathered across documents before calling the encoder (fewer when the next file is
not extracted yet). The encoder sorts them by token count, so the more it is given, the less
padding its batches carry: 1,141 passages of moties and Aanhangsels embedded at 11.0/s in one call
against 9.9/s in calls of 256 (2 cores, then 32 passages per forward pass). A crash loses at
most this much embedding work (about 75 s at 14 passages/s); what was committed stays."""


@dataclass
class _Prepared:
    path: Path
    sha256: str
    size: int
    extraction: Extraction
    letter: LetterFields


@dataclass
class _Pending:
    prepared: _Prepared
    passages: list
    missing: list[str]


def _prepare(path: Path, sha256: str, size: int) -> _Prepared:
    """Worker side: everything that depends only on the file (no store, no model)."""
    extraction = extract(path)
    return _Prepared(path, sha256, size, extraction, parse_letter(extraction, path))


def ingest(
    store: Store,
    encoder: Encoder,
    paths: Sequence[Path | str],
    *,
    prune: bool = False,
    workers: int | None = None,
    timeout: float = 300.0,
    passage_tokens: int = DEFAULT_TARGET_TOKENS,
    progress: Callable[[int, int, str], None] | None = None,
    on_commit: Callable[[Change], None] | None = None,
) -> IngestReport:
    """Bring the store up to date with the files under `paths`.

    Args:
        prune: also remove stored documents under these folders whose files are gone.
        timeout: seconds one file may take to extract (OCR included) before it counts as failed.
        passage_tokens: target passage size in model tokens (see indexer.passages).
        progress: called as (done, total, path) after each file.
        on_commit: called with each batch's passage changes after they are stored, so derived
            indexes can follow the store.
    """
    started = time.perf_counter()
    report = IngestReport()
    found = discover(paths)
    for problem, reason in found.problems:
        report.failed.append(FileError(str(problem), "discover", reason))
        store.record_failure(str(problem), None, "discover", reason)
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
        if on_commit:
            on_commit(change)

    total = len(found.files) - len(sidecars)
    done = len(report.skipped)
    pending: list[_Pending] = []

    def flush() -> None:
        _flush(store, encoder, pending, report, stored, on_commit)
        pending.clear()

    for path, outcome in _extract_all(todo, workers=workers, timeout=timeout, idle=flush):
        done += 1
        if isinstance(outcome, FileError):
            report.failed.append(outcome)
            store.record_failure(str(path), None, outcome.stage, outcome.error)
        else:
            pending.append(_split(store, encoder, outcome, passage_tokens))
            if sum(len(item.missing) for item in pending) >= EMBED_BATCH:
                flush()
        if progress:
            progress(done, total, str(path))
    flush()
    report.seconds = time.perf_counter() - started
    return report


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _split(store: Store, encoder: Encoder, prepared: _Prepared, passage_tokens: int) -> _Pending:
    offsets, cursor = [], 0
    for page in prepared.extraction.pages:
        offsets.append((page.number, cursor))
        cursor += len(page.text) + len(PAGE_SEPARATOR)
    passages = split_passages(
        prepared.extraction.text, offsets, encoder.count_tokens, token_limit=encoder.token_limit, target_tokens=passage_tokens
    )
    hashes = list(dict.fromkeys(text_hash(p.text) for p in passages))
    known = store.known_vectors(hashes, encoder.model_id)
    return _Pending(prepared, passages, [h for h in hashes if h not in known])


def _flush(
    store: Store,
    encoder: Encoder,
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
    matrix = encoder.passages(list(texts.values())) if texts else np.zeros((0, 0), dtype=np.float32)
    report.encoder_seconds += time.perf_counter() - started
    report.embedded += len(texts)
    if texts:
        report.precision = encoder.precision
    vectors = dict(zip(texts, matrix))
    change = Change([], [], [])
    for item in pending:
        prepared = item.prepared
        path = str(prepared.path)
        if not item.passages:
            error = FileError(path, "extract", "no text found (empty, or a scan that OCR could not read)")
            report.failed.append(error)
            store.record_failure(path, prepared.sha256, error.stage, error.error)
            continue
        change += store.write_document(
            path=path,
            sha256=prepared.sha256,
            size=prepared.size,
            format=prepared.path.suffix.lower().lstrip("."),
            extraction=prepared.extraction,
            letter=prepared.letter,
            passages=item.passages,
            vectors={h: vectors[h] for h in item.missing},
            model=encoder.model_id,
        )
        (report.updated if path in stored else report.added).append(path)
        report.pages += len(prepared.extraction.pages)
        report.passages += len(item.passages)
    if on_commit:
        on_commit(change)


def _extract_all(
    todo: list[tuple[Path, str, int]], *, workers: int | None, timeout: float, idle: Callable[[], None]
) -> Iterator[tuple[Path, _Prepared | FileError]]:
    """Yield each file's extraction (or its error) in order, from worker processes.

    `idle` is called whenever the next file is not ready yet, so the caller can embed what it
    holds instead of waiting (the encoder would otherwise sit out every OCR'd scan). A file that
    exceeds `timeout` is reported and its pool torn down (the only way to stop a hung
    extraction); the files after it go to a fresh pool.
    """
    context = multiprocessing.get_context("forkserver")
    # workers fork from a server that has imported the extractors: a fresh worker (one per 50 files)
    # then starts in milliseconds instead of half a second (506 files: 6.0 s instead of 10.9 s)
    context.set_forkserver_preload([__name__])
    workers = workers or min(2, os.cpu_count() or 1)
    remaining = list(todo)
    while remaining:
        pool: Pool = context.Pool(workers, maxtasksperchild=50)
        try:
            jobs = [(item, pool.apply_async(_prepare, item)) for item in remaining]
            remaining = []
            for index, ((path, _, _), job) in enumerate(jobs):
                if not job.ready():
                    idle()
                try:
                    yield path, job.get(timeout=timeout)
                except multiprocessing.TimeoutError:
                    yield path, FileError(str(path), "extract", f"took longer than {timeout:.0f} s; stopped")
                    remaining = [item for item, _ in jobs[index + 1 :]]
                    break
                except Exception as error:  # noqa: BLE001 - any extractor failure is this file's failure
                    yield path, FileError(str(path), "extract", _describe(error))
        finally:
            pool.terminate()
            pool.join()


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return text if text else type(error).__name__
