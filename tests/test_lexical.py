"""Dutch analysis and the tantivy lexical index: matching, identifiers, hostile queries, lifecycle."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.analysis import analyse
from indexer.lexical import LexicalIndex
from indexer.stamps import STAMP_NAME

SEED = Path(__file__).resolve().parents[1] / "corpus" / "kamerbrief-vws-2024-02-27.txt"

ROWS = [
    (10, 1, "De werkgevers in de zorg vragen om duidelijkheid over de cao."),
    (11, 1, "Een werkgever moet zorgen voor een veilige werkomgeving."),
    (12, 2, "Ons kenmerk 2022-0000088502 betreft de coördinatie van de inzet."),
    (13, 2, "Kamerstuk 36410-XVI, nr. 137 over sociale veiligheid bij VWS."),
    (14, 3, "De gemeente Groningen en de stikstofuitstoot van boerderijen."),
    (15, 3, "Integriteitscoördinatoren en vertrouwenspersonen ondersteunen medewerkers."),
    (16, 4, "Tweede Kamer, vergaderjaar 2023–2024, 36 410 XVI, nr. 140"),
]


def ids(hits: list[tuple[int, float]]) -> list[int]:
    return [pid for pid, _ in hits]


@pytest.fixture()
def index(tmp_path: Path) -> LexicalIndex:
    return LexicalIndex.rebuild(tmp_path / "lexical", ROWS, {"generation": 7})


# --- analysis -------------------------------------------------------------------------------


def test_inflections_share_a_stem() -> None:
    assert analyse("werkgevers") == analyse("werkgever")
    assert analyse("medewerkers") == analyse("medewerker")
    assert analyse("onderzoeken") == analyse("onderzoek")


def test_diacritics_fold_after_stemming() -> None:
    assert analyse("coördinatie") == analyse("coordinatie") == ["coordinatie"]
    assert analyse("Integriteitscoördinatoren") == analyse("integriteitscoordinator")


def test_identifier_kept_whole_and_split() -> None:
    assert analyse("2022-0000088502") == ["20220000088502", "2022", "0000088502"]
    assert analyse("2024Z00446") == ["2024z00446"]


def test_kamerstuk_notations_share_their_terms() -> None:
    spaced = set(analyse("36 410 XVI nr. 137"))
    hyphenated = set(analyse("Kamerstuk 36410-XVI, nr. 137"))
    assert {"36410", "xvi", "36410xvi", "nr", "137"} <= spaced & hyphenated


def test_stop_words_and_single_letters_dropped() -> None:
    assert analyse("de en het van a b") == []


def test_real_letter_analyses_without_surprises() -> None:
    tokens = analyse(SEED.read_text(encoding="utf-8"))
    assert "2024z00446" in tokens and "fnv" in tokens
    assert all(t and not any(c.isspace() for c in t) and len(t) <= 64 for t in tokens)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_analyse_takes_any_text(text: str) -> None:
    tokens = analyse(text)
    assert all(t and not any(c.isspace() for c in t) and len(t) <= 64 for t in tokens)


# --- the index ------------------------------------------------------------------------------


def test_inflection_finds_both_forms(index: LexicalIndex) -> None:
    assert set(ids(index.search("werkgevers", 10))) == {10, 11}


def test_identifier_found_exactly(index: LexicalIndex) -> None:
    assert ids(index.search("2022-0000088502", 10))[0] == 12
    assert ids(index.search("0000088502", 10)) == [12]


def test_kamerstuk_found_in_either_notation(index: LexicalIndex) -> None:
    assert set(ids(index.search("36 410 XVI", 10))) == {13, 16}
    assert set(ids(index.search("36410-XVI", 10))) == {13, 16}
    assert ids(index.search("Kamerstuk 36410-XVI, nr. 137", 10))[0] == 13


@pytest.mark.parametrize(
    "query",
    ['"', '"werkgever', "title:werkgever", "(werkgever", "werkgever)", "AND OR NOT", "*", "werk*",
     "a:b:c", "[1 TO 5]", "\\", "+-!^~", "'", "\x00", "💥 ͏", " ", ""],
)
def test_hostile_queries_do_not_crash(index: LexicalIndex, query: str) -> None:
    assert isinstance(index.search(query, 5), list)


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """One index for all hypothesis examples: rebuilding per example would dominate the run."""
    return LexicalIndex.rebuild(tmp_path_factory.mktemp("shared") / "lexical", ROWS, {"generation": 1})


@settings(max_examples=200, deadline=None)
@given(query=st.text())
def test_any_query_string_is_safe(shared_index: LexicalIndex, query: str) -> None:
    hits = shared_index.search(query, 5)
    assert len(hits) <= 5 and all(pid in {r[0] for r in ROWS} for pid in ids(hits))


def test_allowed_docs_restrict_within_the_query(index: LexicalIndex) -> None:
    assert ids(index.search("werkgever coördinatie", 10, allowed_docs=[2])) == [12]
    assert index.search("werkgever", 10, allowed_docs=[3, 4]) == []
    assert index.search("werkgever", 10, allowed_docs=[]) == []
    unfiltered = dict(index.search("werkgever coördinatie", 10))
    assert index.search("werkgever coördinatie", 10, allowed_docs={2})[0][1] == pytest.approx(unfiltered[12])


def test_update_adds_removes_and_stamps(index: LexicalIndex) -> None:
    assert index.stamp is not None and index.stamp["generation"] == 7
    index.update([(20, 5, "Nieuwe werkgevers in Groningen")], remove_docs=[1], stamp={"generation": 8})
    assert set(ids(index.search("werkgever", 10))) == {20}
    assert index.stamp["generation"] == 8 and index.stamp["count"] == len(ROWS) - 2 + 1
    # Re-adding a passage id replaces it rather than duplicating it.
    index.update([(20, 5, "Nieuwe werkgevers in Drenthe")], remove_docs=[], stamp={"generation": 9})
    assert ids(index.search("werkgever", 10)) == [20] and ids(index.search("groningen", 10)) == [14]
    reopened = LexicalIndex.open(index.path)
    assert len(reopened) == len(ROWS) - 1 and reopened.stamp["generation"] == 9


def test_failed_update_leaves_index_and_stamp_as_they_were(index: LexicalIndex) -> None:
    def rows():
        yield (30, 6, "werkgever")
        raise RuntimeError("store read failed")

    with pytest.raises(RuntimeError):
        index.update(rows(), remove_docs=[1], stamp={"generation": 8})
    assert set(ids(index.search("werkgever", 10))) == {10, 11}
    assert index.stamp["generation"] == 7


def test_rebuild_replaces_contents(index: LexicalIndex) -> None:
    rebuilt = LexicalIndex.rebuild(index.path, [(1, 1, "alleen stikstof")], {"generation": 9})
    assert ids(rebuilt.search("stikstof", 10)) == [1]
    assert len(rebuilt) == 1 and rebuilt.stamp["generation"] == 9
    assert sorted(p.name for p in index.path.parent.iterdir()) == ["lexical"]


def test_open_creates_empty_unstamped(tmp_path: Path) -> None:
    index = LexicalIndex.open(tmp_path / "new")
    assert len(index) == 0 and index.stamp is None and index.search("werkgever", 5) == []


def test_stamp_of_another_format_reads_as_stale(index: LexicalIndex) -> None:
    stamp_path = index.path / STAMP_NAME
    stamp = json.loads(stamp_path.read_text())
    stamp_path.write_text(json.dumps({**stamp, "analysis": -1}))
    assert index.stamp is None
    stamp_path.write_text("{not json")
    assert index.stamp is None


def test_damaged_index_reopens_empty(index: LexicalIndex) -> None:
    (index.path / "meta.json").write_text("garbage")
    reopened = LexicalIndex.open(index.path)
    assert len(reopened) == 0 and reopened.stamp is None


def test_scores_match_reference_bm25(tmp_path: Path) -> None:
    """Differential: tantivy's scores equal textbook BM25 (k1=1.2, b=0.75) over the analysed terms.

    Passages are short, so tantivy's one-byte field norms store their lengths exactly.
    """
    rng = np.random.default_rng(3)
    vocabulary = ["werkgever", "gemeente", "stikstof", "zorg", "onderwijs", "woning", "kamer", "motie"]
    rows = [(i, i // 3, " ".join(rng.choice(vocabulary, size=rng.integers(1, 12)))) for i in range(60)]
    index = LexicalIndex.rebuild(tmp_path / "lexical", rows, {"generation": 1})
    docs = [Counter(analyse(text)) for _, _, text in rows]
    lengths = np.array([sum(d.values()) for d in docs], dtype=float)
    for query in ["werkgever", "stikstof zorg", "gemeente woning motie onbekend"]:
        expected = np.zeros(len(rows))
        for term in set(analyse(query)):
            n = sum(term in d for d in docs)
            idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
            tf = np.array([d[term] for d in docs], dtype=float)
            expected += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths / lengths.mean()))
        got = index.search(query, len(rows))
        assert len(got) == int((expected > 0).sum())
        for pid, score in got:
            assert score == pytest.approx(expected[pid], rel=1e-4)
