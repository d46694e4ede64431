"""A pasted text finds the passage that prints it, whatever rank fusion made of it."""

from __future__ import annotations

import re

from archive import Archive
from archive.quotes import LOOKED_AT, quoted_first, quotes
from tests.conftest import doc_of

LETTER = "Kamerbrief_circulaire_economie"


def _passages(archive: Archive, needle: str) -> dict:
    key = doc_of(archive, needle)
    [doc] = [d for d in archive.store.documents() if d.key == key]
    return archive.store.passages(archive.store.passage_ids([doc.id]).tolist())


def _longest_sentence(text: str) -> str:
    return max(re.split(r"(?<=[.?!])\s+", " ".join(text.split())), key=len)


def test_only_a_pasted_text_quotes() -> None:
    question = "Vraag 2 Bent u bekend met het bericht over stikstofuitstoot van boerderijen in Gelderland?"
    assert quotes("Bent u bekend met het bericht over stikstofuitstoot van boerderijen in Gelderland?", question)
    assert not quotes("hoeveel stikstof stoten veehouderijen uit in Gelderland", question)  # too short to be pasted
    # most of the words, none of the order: a paraphrase, not a quote
    assert not quotes("Gelderland boerderijen stikstofuitstoot over bericht het met bekend u bent van in", question)
    assert not quotes("", question)


def test_the_passage_that_prints_the_query_goes_first(demo: Archive) -> None:
    passages = _passages(demo, LETTER)
    ids = sorted(passages)
    printed, others = ids[-1], ids[:-1]
    query = _longest_sentence(passages[printed].text)
    ranked = [(pid, 1.0 / rank) for rank, pid in enumerate(others + [printed], start=1)]
    lexical = {pid: 10.0 - i for i, pid in enumerate([printed] + others)}
    after = quoted_first(ranked, lexical, passages, query)
    assert after[0] == ranked[-1] and after[1:] == ranked[:-1]
    # only the lexical side's best are read: a passage BM25 does not rank near the top stays put
    far = {pid: 10.0 - i for i, pid in enumerate(others[:LOOKED_AT] + [printed])}
    assert quoted_first(ranked, far, passages, query) == ranked
    # keywords are no quote
    assert quoted_first(ranked, lexical, passages, " ".join(re.findall(r"\w+", query)[:4])) == ranked


def test_a_pasted_sentence_is_cited_where_it_is_printed(demo: Archive) -> None:
    """Every passage of a real Kamerbrief, searched by its longest sentence: the hybrid top hit prints it."""
    for pid, passage in _passages(demo, LETTER).items():
        sentence = _longest_sentence(passage.text)
        if len(sentence.split()) < 12:
            continue
        top = demo.search(sentence, k=1)[0]
        assert quotes(sentence, top.text), (pid, sentence[:80], top.text[:80])

