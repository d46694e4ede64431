"""Where an ingest extracts files and embeds passages: here (worker processes + this process's
encoder) or elsewhere (`indexer.ray_ingest`, a Ray cluster).

`indexer.ingest` drives the run the same way whatever the executor is: it splits passages, asks
the executor for the vectors it does not have, and writes each document in its own transaction in
the ingesting process. Only these two steps move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from indexer.encoders import Encoder
from indexer.report import FileError
from indexer.workers import Prepared, extract_all


class Executor(Protocol):
    """Runs extraction and embedding for one ingest."""

    batch: int
    """Passages to gather across documents before calling `embed` (see indexer.ingest.EMBED_BATCH)."""

    def extract(
        self, todo: list[tuple[Path, str, int]], *, timeout: float, memory_mib: int, idle: Callable[[], None]
    ) -> Iterator[tuple[Path, Prepared | FileError]]:
        """Each file's extraction (or its error) in the order of `todo`, as `indexer.workers.extract_all`."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors (float32, L2-normalised rows, in the order given)."""
        ...

    @property
    def precision(self) -> str:
        """How the last `embed` ran, e.g. "fp32 (cpu: no AMX/AVX512-BF16)"."""
        ...


class LocalExecutor:
    """Extraction in `workers` subprocesses of this machine, embedding by `encoder` in this process."""

    def __init__(self, encoder: Encoder, *, workers: int | None = None, batch: int):
        self.encoder = encoder
        self.workers = workers
        self.batch = batch

    def extract(
        self, todo: list[tuple[Path, str, int]], *, timeout: float, memory_mib: int, idle: Callable[[], None]
    ) -> Iterator[tuple[Path, Prepared | FileError]]:
        return extract_all(todo, workers=self.workers, timeout=timeout, memory_mib=memory_mib, idle=idle)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # at most `batch` texts per call even when one document has far more: the encoder counts
        # a call's tokens as Python lists, ~300 ints per passage, which for a 100 MB text file
        # (163,800 passages) was most of its 2.3 GB
        chunks = [self.encoder.passages(texts[i : i + self.batch]) for i in range(0, len(texts), self.batch)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    @property
    def precision(self) -> str:
        return self.encoder.precision
