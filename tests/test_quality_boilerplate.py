"""Parliamentary boilerplate leaves a query; its subject stays. Real questions from the shared corpus."""

import json
from pathlib import Path

import pytest

from archive.boilerplate import strip

FORM_WORDS = {"bekend", "mening", "aangeven", "toelichten", "bereid", "reactie"}
KAMERVRAGEN = Path(__file__).resolve().parents[1] / "eval" / "kamervragen_queries.jsonl"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "Bent u bekend met het bericht «Kritiek op besluit provincie Friesland tegen actief regenboogbeleid»?",
            "«Kritiek op besluit provincie Friesland tegen actief regenboogbeleid»?",
        ),
        (
            "Deelt u de mening dat regenboogprovincies een regierol hebben? Zo ja, waarom? Zo nee, waarom niet?",
            "regenboogprovincies een regierol hebben?",
        ),
        ("Kunt u aangeven wat is gedaan om deze motie uit te voeren?", "wat is gedaan om deze motie uit te voeren?"),
        ("Kunt u nader toelichten waarom het beleid is afgeschaft?", "waarom het beleid is afgeschaft?"),
        ("Wat is uw reactie op het bericht over de vertraging van de Delta Rhine Corridor?",
         "het bericht over de vertraging van de Delta Rhine Corridor?"),
        ("Bent u bereid om de rente te verlagen? Graag een gedetailleerd antwoord.", "de rente te verlagen?"),
        ("Kunt u deze vragen afzonderlijk en binnen drie weken beantwoorden? Hoeveel kost de ov-chipkaart?",
         "Hoeveel kost de ov-chipkaart?"),
    ],
)
def test_form_goes_subject_stays(query: str, expected: str) -> None:
    assert strip(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "Welke motie verzocht de regering om varend ontgassen te verbieden?",
        "kamerstuk 36410-XVI nr. 137",
        "Wat kost de ov-chipkaart in 2024?",
        "Bent u bekend met het bericht?",  # all form: nothing would be left, so kept as typed
    ],
)
def test_queries_without_boilerplate_are_kept(query: str) -> None:
    assert strip(query) == query


def test_real_kamervragen_keep_their_subject() -> None:
    """Over 151 real questions, the long (content) words survive and the form words go."""
    total = kept = form = form_kept = 0
    for line in KAMERVRAGEN.read_text(encoding="utf-8").splitlines():
        query = json.loads(line)["query"]
        words, left = query.lower().split(), strip(query).lower().split()
        total += sum(len(w) >= 9 for w in words)
        kept += sum(len(w) >= 9 for w in left)
        form += sum(w in FORM_WORDS for w in words)
        form_kept += sum(w in FORM_WORDS for w in left)
    assert form > 50 and kept >= 0.95 * total
    assert form_kept <= 0.2 * form
