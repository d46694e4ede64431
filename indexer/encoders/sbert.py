"""The sentence-transformers engine: any model name or path, on torch, at the machine's precision.

Token counts and the token limit come from the model's files (tokenizer.json through `tokenizers`,
sentence_bert_config.json), not from the loaded model: importing transformers imports torch (9.8 s
cold on 2 cores), and ingest counts tokens to cut passages before it knows whether anything needs
embedding at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from indexer.encoders.base import Role
from indexer.encoders.precision import Precision, choose, requested
from indexer.model import DEFAULT_MODEL, ensure_default_model

PROMPT_NAMES: dict[Role, tuple[str, ...]] = {"passage": ("passage", "document"), "query": ("query",)}
"""The model's own configured prompt for each role (e5: "passage: ", "query: "), first name found wins."""


class SentenceTransformerEngine:
    name = "sentence-transformers"

    def __init__(self, model_id: str, precision: str | None = None):
        requested(precision)  # a bad value fails here, not at the first passage
        self.model_id = model_id
        self._requested = precision

    @staticmethod
    def serves(model_id: str) -> bool:
        return True

    @cached_property
    def _location(self) -> str:
        return str(ensure_default_model()) if self.model_id == DEFAULT_MODEL else self.model_id

    @cached_property
    def _choice(self) -> Precision:
        return choose(self._requested)

    @property
    def precision(self) -> str:
        return str(self._choice)

    @cached_property
    def model(self):  # type: ignore[no-untyped-def]  # -> SentenceTransformer
        import torch
        from sentence_transformers import SentenceTransformer  # torch: imported only when embedding
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter ingest's stderr
        choice = self._choice
        model = SentenceTransformer(self._location, device=choice.device, model_kwargs={"dtype": torch.float32})
        if choice.dtype != "fp32":
            # Weights (LayerNorm included) in half precision; the mean pooling and the L2
            # normalisation after them in fp32. Pooling in bf16 too lost quality (issue 18: min
            # cosine to fp32 0.998, dense MRR@10 −0.018) for 6% more speed.
            model[0].to({"bf16": torch.bfloat16, "fp16": torch.float16}[choice.dtype])
            model[0].register_forward_hook(_token_embeddings_in_fp32)
        return model

    @cached_property
    def _settings(self) -> dict[str, Any]:
        """sentence_bert_config.json and config_sentence_transformers.json, merged."""
        settings: dict[str, Any] = {}
        for name in ("sentence_bert_config.json", "config_sentence_transformers.json"):
            path = _model_file(self._location, name)
            if path:
                settings.update(json.loads(path.read_text(encoding="utf-8")))
        return settings

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]  # -> tokenizers.Tokenizer
        from tokenizers import Tokenizer

        path = _model_file(self._location, "tokenizer.json")
        tokenizer = Tokenizer.from_file(str(path)) if path else self.model.tokenizer.backend_tokenizer
        tokenizer.no_truncation()  # counting, not feeding: a long text must show its full length
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def token_limit(self) -> int:
        limit = self._settings.get("max_seq_length")
        return int(limit) if limit else int(self.model.max_seq_length)

    @cached_property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _prompt(self, role: Role) -> str:
        prompts = self._settings.get("prompts") or {}
        name = next((n for n in PROMPT_NAMES[role] if n in prompts), self._settings.get("default_prompt_name"))
        return prompts.get(name, "") if name else ""

    def count_tokens(self, texts: Sequence[str], role: Role) -> list[int]:
        prompt = self._prompt(role)
        return [len(encoding.ids) for encoding in self._tokenizer.encode_batch_fast([prompt + t for t in texts])]

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            prompt=self._prompt(role) or None,
            batch_size=max(len(texts), 1),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _token_embeddings_in_fp32(module: Any, args: Any, features: dict[str, Any]) -> dict[str, Any]:
    features["token_embeddings"] = features["token_embeddings"].float()
    return features


def _model_file(location: str, name: str) -> Path | None:
    """A file of a model directory, or of a hub model in the local cache (downloaded if allowed)."""
    if Path(location).is_dir():
        path = Path(location) / name
        return path if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(location, name))
    except EntryNotFoundError:
        return None
