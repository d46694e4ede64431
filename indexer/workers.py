"""Extraction in worker processes that never import the caller's main module.

Each worker is `python -m indexer.extract_worker`, started with subprocess, fed pickled jobs on its
stdin and answering pickled results on its stdout. multiprocessing was used before: its children
re-import the caller's `__main__`, so a script without an `if __name__ == "__main__":` guard ran
itself again in every worker (issue 14). A worker here starts from nothing but this package, so a
plain script, `python -c`, a notebook or a server thread can call `Archive.ingest`.

Limits, each overridable per run (`Archive.ingest(timeout=..., memory_mib=...)`): a file that takes
longer than `timeout` has its worker killed and replaced; a worker cannot map more than
`memory_mib` (RLIMIT_AS), so a file that needs more fails alone with "ran out of memory".
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.extract import extract
from indexer.letters import parse_letter
from indexer.records import Extraction, LetterFields
from indexer.report import FileError

MEMORY_MIB = 2048
"""Address space one extraction worker may map (RLIMIT_AS), in MiB; Tesseract, started by the
worker, gets the same limit. One process extracting all 95 PDFs of the shared corpus (OCR'd scans
included) peaked at 192 MiB of address space (174 MiB resident), Tesseract at about 125 MiB. 2 GiB
is ten times that, room for a large legitimate PDF, while a file that needs more (the 2 GB a
decompression bomb took) fails at once instead of taking the machine's memory."""
FILES_PER_WORKER = 50
"""A worker is replaced after this many files, so memory leaked by the PDF libraries stays bounded
(as multiprocessing's maxtasksperchild did before); a fresh worker starts in about 0.5 s."""
_HEADER = struct.Struct(">Q")
_ROOT = str(Path(__file__).resolve().parents[1])
"""The folder holding the `indexer` package, so a worker imports this same code."""


@dataclass
class Prepared:
    """Everything about one file that depends only on the file (no store, no model)."""

    path: Path
    sha256: str
    size: int
    extraction: Extraction
    letter: LetterFields


def prepare(path: Path, sha256: str, size: int) -> Prepared:
    """Worker side: extract the file and read its letter fields."""
    extraction = extract(path)
    return Prepared(path, sha256, size, extraction, parse_letter(extraction, path))


def write_frame(stream, value: object) -> None:  # noqa: ANN001 - a binary file object
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream) -> object:  # noqa: ANN001 - a binary file object
    """The next pickled value; EOFError when the other side is gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class _Worker:
    def __init__(self, memory_mib: int):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
        # -P: the caller's working directory is not put on sys.path, so a folder there named like
        # this package cannot stand in for it
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "indexer.extract_worker", str(memory_mib)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )
        self.done = 0
        self.job: tuple[int, float] | None = None
        """(index of the file it is extracting, deadline) while busy."""

    def send(self, index: int, item: tuple[Path, str, int], deadline: float) -> None:
        write_frame(self.process.stdin, item)
        self.job = (index, deadline)
        self.done += 1

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass  # a killed worker's pipe may already be broken
        self.process.wait()


def extract_all(
    todo: list[tuple[Path, str, int]],
    *,
    workers: int | None,
    timeout: float,
    memory_mib: int,
    idle: Callable[[], None],
) -> Iterator[tuple[Path, Prepared | FileError]]:
    """Yield each file's extraction (or its error) in the order of `todo`.

    `idle` is called whenever the next file is not ready yet, so the caller can embed what it
    holds instead of waiting (the encoder would otherwise sit out every OCR'd scan). A file that
    exceeds `timeout` is reported and its worker killed and replaced; the other files go on.
    """
    count = min(workers or min(2, os.cpu_count() or 1), max(len(todo), 1))
    pool = [_Worker(memory_mib) for _ in range(count)] if todo else []
    selector = selectors.DefaultSelector()
    results: dict[int, Prepared | FileError] = {}
    sent = 0
    try:
        for ready in range(len(todo)):
            waited = False
            while ready not in results:
                for slot, worker in enumerate(pool):
                    if worker.job is None and sent < len(todo):
                        if worker.done >= FILES_PER_WORKER or worker.process.poll() is not None:
                            worker.stop()
                            pool[slot] = worker = _Worker(memory_mib)
                        worker.send(sent, todo[sent], time.monotonic() + timeout)
                        selector.register(worker.process.stdout, selectors.EVENT_READ, slot)
                        sent += 1
                if ready in results:
                    break
                if not waited:
                    idle()
                    waited = True
                deadline = min(w.job[1] for w in pool if w.job is not None)
                for key, _ in selector.select(max(deadline - time.monotonic(), 0.0)):
                    slot = key.data
                    worker = pool[slot]
                    selector.unregister(worker.process.stdout)
                    index = worker.job[0]
                    worker.job = None
                    path = todo[index][0]
                    try:
                        outcome = read_frame(worker.process.stdout)
                    except (EOFError, pickle.UnpicklingError):
                        worker.stop(kill=True)
                        outcome = FileError(str(path), "extract", _death(worker.process.returncode, memory_mib))
                        pool[slot] = _Worker(memory_mib)
                    if isinstance(outcome, str):  # the worker's own words for this file's failure
                        outcome = FileError(str(path), "extract", outcome)
                    results[index] = outcome
                now = time.monotonic()
                for slot, worker in enumerate(pool):
                    if worker.job is not None and worker.job[1] <= now:
                        index = worker.job[0]
                        selector.unregister(worker.process.stdout)
                        worker.stop(kill=True)
                        pool[slot] = _Worker(memory_mib)
                        results[index] = FileError(str(todo[index][0]), "extract", f"took longer than {timeout:.0f} s; stopped")
            yield todo[ready][0], results.pop(ready)
    finally:
        selector.close()
        for worker in pool:
            worker.stop(kill=worker.job is not None)


def _death(returncode: int | None, memory_mib: int) -> str:
    """Why a worker ended without answering: a crash of a native library, most likely out of memory."""
    how = f"signal {signal.Signals(-returncode).name}" if returncode and returncode < 0 else f"exit code {returncode}"
    return f"extraction crashed ({how}); the file may need more than the memory limit ({memory_mib} MiB)"
