"""Extraction and embedding on a Ray cluster (`archive ingest … --ray [ADDRESS]`, `Archive.ingest(ray=…)`).

The ingesting process still discovers files, splits passages and writes every document in its own
transaction; the cluster does the two expensive steps (`indexer.executor`):

- extraction: Ray tasks of FILES_PER_TASK files, each running `indexer.workers.extract_all` on its
  node, so a file gets the same subprocess, time limit, memory limit and FileError as locally;
- embedding: a pool of encoder actors, one per GPU where the cluster has GPUs (fp16 on CUDA, as
  `indexer.encoders.precision` chooses), else one per CPU not kept for extraction. A flush's
  passages are sorted by token count and cut into calls of at most TASK_TOKENS tokens.

A worker killed mid-call is restarted and the call retried (RESTARTS, RETRIES); vectors reach the
store only after the whole flush is embedded, so a lost call never leaves a document half-written.
Every node must see the files at the paths the ingesting process gives (a shared file system) and
have `archive[ray]` installed. Only this module imports Ray, and only `--ray` imports it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import ray
from ray.util import ActorPool

from indexer.encoders import Encoder
from indexer.encoders.precision import requested
from indexer.errors import RayIngestError
from indexer.report import FileError
from indexer.workers import Prepared, extract_all

FILES_PER_TASK = 8
"""Files one extraction task takes. Each task starts a fresh extraction subprocess (about 0.5 s,
`indexer.workers.FILES_PER_WORKER`), as long as a short letter takes to extract (an Aanhangsel:
3.5 pages at 141 ms of CPU a page, bench/RESULTS.md), so one file a task would double the work;
8 makes it 6%, and the first results still come back within seconds."""

EXTRACT_SHARE = 4
"""One CPU in this many is left to extraction tasks on a cluster without GPUs, the rest run
encoders. On the shared corpus a page costs 141 ms of CPU to extract (pdfplumber, text layer) and
~400 ms to embed (2.9 passages a page at 14.8 passages/s on 2 cores); OCR'd scans cost more."""

TASK_TOKENS = 65_536
"""Tokens (as the model counts them, each passage cut at its limit) in one call to an encoder actor:
about 350 passages of the shared corpus (187 tokens on average), some 50 s on one CPU core. Large
enough that Ray's per-call cost (milliseconds) does not count, small enough that a killed actor
loses under a minute of work and a flush still spreads over every actor."""

RUNTIME_ENV = {"py_modules": [str(Path(__file__).parent)]}
"""The Ray job's runtime environment: this `indexer` package, shipped to the cluster, so the nodes
run the code the ingesting process runs (their own install provides the libraries). Ray takes a
local folder only in `ray.init`: a caller that initialises Ray itself passes this there."""

RESTARTS = 3
"""Times an encoder actor is restarted after its process dies (killed node, out of memory)."""
RETRIES = 3
"""Times a call (an extraction task, an embedding call on a restarted actor) is tried again."""


def _extract_files(todo: list[tuple[Path, str, int]], timeout: float, memory_mib: int) -> list[Prepared | FileError]:
    """Task side: the files' extractions as a local ingest makes them, in one worker subprocess."""
    return [outcome for _, outcome in extract_all(todo, workers=1, timeout=timeout, memory_mib=memory_mib, idle=_nothing)]


def _nothing() -> None:
    """A task has nothing to do while it waits for its file."""


class _EncoderActor:
    """Actor side: one encoder, kept for the run."""

    def __init__(self, model: str, precision: str, batch_tokens: int):
        self.encoder = Encoder(model, precision=precision, batch_tokens=batch_tokens)
        self.encoder.passages(["start"])  # load the model now, while the first files are extracted

    def embed(self, texts: list[str]) -> tuple[np.ndarray, str]:
        return self.encoder.passages(texts), self.encoder.precision


class RayExecutor:
    """Extracts and embeds for `indexer.ingest.ingest` on a Ray cluster; use as a context manager.

    Args:
        address: the cluster (as `ray.init` takes it); None connects to the one this machine
            knows ($RAY_ADDRESS, a `ray start` here) or starts a local one. Ray already
            initialised in this process is used as it is (pass RUNTIME_ENV to `ray.init`).
        encoder: the ingest's encoder; actors load the same model at the same requested precision.
        workers: encoder actors (default: the cluster's GPUs, else 3 of every EXTRACT_SHARE CPUs).
        batch: passages gathered before a flush, per encoder actor.
    """

    def __init__(self, address: str | None, encoder: Encoder, *, workers: int | None = None, batch: int):
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(
                    address=address, runtime_env=RUNTIME_ENV, include_dashboard=False, logging_level="warning",
                    log_to_driver=False,
                )
            except Exception as error:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError, ValueError
                raise RayIngestError(f"cannot reach the Ray cluster at {address or 'this machine'}: {error}") from error
        try:
            self._start_pool(encoder, workers, batch)
        except BaseException:
            self.close()
            raise

    def _start_pool(self, encoder: Encoder, workers: int | None, batch: int) -> None:
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
        count = workers or gpus or max(cpus - max(1, cpus // EXTRACT_SHARE), 1)
        if gpus and count > gpus:
            raise RayIngestError(f"{count} encoder workers asked for, but the Ray cluster has {gpus} GPUs (one each)")
        if count >= cpus:
            raise RayIngestError(
                f"{count} encoder workers would take all {cpus} CPUs of the Ray cluster and leave none "
                f"to extract files; ask for fewer workers or a larger cluster"
            )
        self.extract_slots = cpus - count
        self.encoder = encoder
        self.batch = batch * count
        self._extract = ray.remote(num_cpus=1, max_retries=RETRIES)(_extract_files)
        actor = ray.remote(
            num_cpus=1, num_gpus=1 if gpus else 0, max_restarts=RESTARTS, max_task_retries=RETRIES
        )(_EncoderActor)
        precision = requested(encoder.requested_precision)[0]  # this process's $ARCHIVE_PRECISION, not the node's
        self.actors = [actor.remote(encoder.model_id, precision, encoder.batch_tokens) for _ in range(count)]
        self.pool = ActorPool(self.actors)
        self._precision = ""

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the encoder actors, and the local cluster if this executor started it."""
        for actor in getattr(self, "actors", []):
            ray.kill(actor)
        self.actors = []
        if self.started:
            ray.shutdown()
            self.started = False

    def extract(
        self, todo: list[tuple[Path, str, int]], *, timeout: float, memory_mib: int, idle: Callable[[], None]
    ) -> Iterator[tuple[Path, Prepared | FileError]]:
        """Each file's extraction in the order of `todo`; `idle` runs while the next is not back yet."""
        chunks = [todo[i : i + FILES_PER_TASK] for i in range(0, len(todo), FILES_PER_TASK)]
        ahead = 2 * self.extract_slots  # each slot has its next task queued
        running: deque = deque()
        try:
            for number, chunk in enumerate(chunks):
                while len(running) < ahead and number + len(running) < len(chunks):
                    running.append(self._extract.remote(chunks[number + len(running)], timeout, memory_mib))
                reference = running.popleft()
                if not ray.wait([reference], timeout=0)[0]:
                    idle()
                try:
                    outcomes = ray.get(reference)
                except ray.exceptions.RayError as error:
                    reason = f"the Ray task extracting it failed: {_last_line(error)}"
                    outcomes = [FileError(str(path), "extract", reason) for path, _, _ in chunk]
                yield from zip((path for path, _, _ in chunk), outcomes)
        finally:
            for reference in running:
                ray.cancel(reference, force=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' vectors, computed by the actor pool in calls of at most TASK_TOKENS tokens."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        limit = self.encoder.token_limit
        lengths = [min(n, limit) for n in self.encoder.count_tokens(texts)]
        budget = min(TASK_TOKENS, -(-sum(lengths) // len(self.actors)))  # every actor gets a share
        order = sorted(range(len(texts)), key=lengths.__getitem__)  # like lengths in one call: less padding
        calls: list[list[int]] = [[]]
        tokens = 0
        for index in order:
            if calls[-1] and tokens + lengths[index] > budget:
                calls.append([])
                tokens = 0
            calls[-1].append(index)
            tokens += lengths[index]
        vectors: np.ndarray | None = None
        try:
            results = self.pool.map(lambda actor, call: actor.embed.remote([texts[i] for i in call]), calls)
            for call, (matrix, precision) in zip(calls, results):
                if vectors is None:
                    vectors = np.zeros((len(texts), matrix.shape[1]), dtype=np.float32)
                vectors[call] = matrix
                self._precision = precision
        except ray.exceptions.RayError as error:
            raise RayIngestError(
                f"embedding on the Ray cluster failed after {RETRIES} retries: {_last_line(error)}; "
                f"the documents stored before are kept, run ingest again to add the rest"
            ) from error
        return vectors

    @property
    def precision(self) -> str:
        return self._precision


def _last_line(error: BaseException) -> str:
    """The end of a Ray error's text, where the exception that caused it stands, without colours."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
