"""An extraction worker process: `python -m indexer.extract_worker MEMORY_MIB`.

Reads pickled jobs (path, sha256, size) from stdin until it closes and answers each with a pickled
`indexer.workers.Prepared` or a string saying why the file cannot be read. Started by
`indexer.workers`; it imports nothing of the process that started it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

from indexer.workers import prepare, read_frame, write_frame


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: be killed when the ingesting process dies (a killed ingest leaves no worker behind
    reading a 300 s scan for nobody); elsewhere the closed stdin ends the worker after its file."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main() -> None:
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        return  # the parent died before the line above took effect
    memory_mib = int(sys.argv[1])
    limit = memory_mib * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the ingesting process's to handle
    # results go on a private copy of stdout; whatever a library prints goes to stderr instead
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    while True:
        try:
            path, sha256, size = read_frame(jobs)
        except EOFError:
            return
        try:
            outcome: object = prepare(path, sha256, size)
        except MemoryError:
            outcome = f"ran out of memory (limit {memory_mib} MiB)"
        except Exception as error:  # noqa: BLE001 - any extractor failure is this file's failure
            outcome = str(error).strip() or type(error).__name__
        try:
            write_frame(results, outcome)
        except BrokenPipeError:
            return  # the ingest is gone


if __name__ == "__main__":
    main()
