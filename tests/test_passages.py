"""Passages: spans point at the right text, nothing is lost, limits hold for the real tokenizer."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.encoders import Encoder
from indexer.passages import MAX_PASSAGE_TOKENS, split_passages
from tests.conftest import SEED_LETTERS


def words(text: str) -> int:
    return len(text.split())


def count_words(texts: list[str]) -> list[int]:
    return [words(text) for text in texts]


def count_thirds(texts: list[str]) -> list[int]:
    """A tokenizer whose counts do not add up: a joined text can count more than its parts."""
    return [-(-len(text) // 3) for text in texts]


def squeeze(text: str) -> str:
    return "".join(text.split())


@given(
    st.text(alphabet=st.sampled_from("ab é.\n\n  X1"), max_size=3000),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=80),
)
@settings(max_examples=300, deadline=None)
@pytest.mark.parametrize("count", [count_words, count_thirds])
def test_spans_cover_all_text_in_order(count, text: str, target: int, limit: int) -> None:
    pages = [(1, 0), (2, len(text) // 2)]
    passages = split_passages(text, pages, count, target_tokens=target, token_limit=limit)
    assert squeeze("".join(p.text for p in passages)) == squeeze(text)
    previous_end = 0
    for passage in passages:
        assert text[passage.char_start : passage.char_end] == passage.text
        assert passage.char_start >= previous_end
        assert passage.text == passage.text.strip() and passage.text
        assert passage.page_start <= passage.page_end
        assert count([passage.text])[0] <= max(limit, 1) or len(passage.text.split()) == 1
        previous_end = passage.char_end


def test_passage_crossing_a_page_break_records_both_pages() -> None:
    page_one = "Eerste alinea over de begroting."
    page_two = "Tweede alinea, op de volgende pagina."
    text = page_one + "\n\n" + page_two
    [passage] = split_passages(text, [(1, 0), (2, len(page_one) + 2)], count_words, target_tokens=50, token_limit=100)
    assert (passage.page_start, passage.page_end) == (1, 2)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.mark.parametrize("seed", SEED_LETTERS, ids=lambda p: p.name)
@pytest.mark.parametrize("model_limit", [None, 256], ids=["e5-small", "a 256-token model"])
def test_real_letters_stay_within_the_model_limit(encoder: Encoder, seed: Path, model_limit: int | None) -> None:
    """The limit is the encoder's (e5-small reads 512, capped at MAX_PASSAGE_TOKENS); a model
    that reads fewer tokens gets passages cut to its own limit, not e5-small's."""
    limit = model_limit or encoder.token_limit
    expected = min(limit, MAX_PASSAGE_TOKENS)
    text = seed.read_text(encoding="utf-8") * 3
    passages = split_passages(text, [(1, 0)], encoder.count_tokens, token_limit=limit)
    assert len(passages) > 3
    assert max(encoder.count_tokens([p.text for p in passages])) <= expected
    long_paragraph = " ".join([text.replace("\n", " ")] * 2)
    pieces = split_passages(long_paragraph, [(1, 0)], encoder.count_tokens, token_limit=limit)
    counts = encoder.count_tokens([p.text for p in pieces])
    assert max(counts) <= expected and max(counts) > expected - 40, "pieces fill the limit"
