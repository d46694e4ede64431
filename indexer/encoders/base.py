"""What every encoder engine offers, so `Encoder` can put any of them behind one interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

Role = Literal["passage", "query"]
"""e5-style models read passages and queries with different prefixes ("passage: ", "query: ")."""


class Engine(Protocol):
    """One way of running one embedding model. Constructors are cheap; heavy parts load on first use."""

    model_id: str

    @staticmethod
    def serves(model_id: str) -> bool:
        """Whether this engine can run `model_id` at all."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def token_limit(self) -> int:
        """The most tokens the model reads of one text, prefix and special tokens included (as
        `count_tokens` counts them); the rest of a longer text would be cut off."""
        ...

    @property
    def precision(self) -> str:
        """How the weights run, and why, e.g. "fp32 (cpu: no AMX/AVX512-BF16)"."""
        ...

    def count_tokens(self, texts: Sequence[str], role: Role) -> list[int]:
        """Tokens the model reads for each text in this role, prefix and special tokens included."""
        ...

    def embed(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """One forward pass over `texts`: float32, L2-normalised rows, in the order given."""
        ...
