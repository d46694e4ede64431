"""Closed Dutch compounds split against OpenTaal's word list (Debian wdutch, installed by `make system`)."""

import pytest

from indexer import decompound
from indexer.analysis import ANALYSIS_VERSION, analyse
from indexer.lexical import LexicalIndex


def test_word_list_is_installed() -> None:
    assert decompound.WORDLIST_ID != "none", f"{decompound.WORDLIST} is missing: run `make system` (package wdutch)"
    assert decompound.WORDLIST_ID in ANALYSIS_VERSION


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("stikstofuitstoot", ("stikstof", "uitstoot")),
        ("kwaliteitsafspraken", ("kwaliteit", "afspraken")),  # linking s
        ("salderingsregeling", ("saldering", "regeling")),
        ("integriteitscoordinator", ("integriteit", "coordinator")),  # typed without the diaeresis
    ],
)
def test_unlisted_compounds_split(word: str, parts: tuple[str, str]) -> None:
    assert decompound.split(word) == parts


@pytest.mark.parametrize("word", ["minister", "onderwijs", "kinderen", "woningbouw", "kennisvei", "beleid"])
def test_listed_words_and_fragments_stay_whole(word: str) -> None:
    """Listed words ("minister" is not mini + ster) and broken words whose tail is too short."""
    assert decompound.split(word) is None


def test_compound_and_its_parts_are_indexed() -> None:
    terms = analyse("De stikstofuitstoot daalt.")
    assert set(analyse("uitstoot van stikstof")) < set(terms)
    assert analyse("stikstofuitstoot")[0] in terms  # the compound itself stays a term


def test_phrase_finds_the_compound(tmp_path) -> None:
    index = LexicalIndex.rebuild(
        tmp_path / "lexical",
        [(1, 1, "De stikstofuitstoot van boerderijen daalt."), (2, 2, "De uitstoot van fijnstof door verkeer.")],
        {"generation": 1},
    )
    assert [pid for pid, _ in index.search("uitstoot van stikstof", 10)][0] == 1
