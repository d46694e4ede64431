"""Issue 17: dates, senders and document types in a query are understood and act as soft boosts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from archive.understand import understand
from tests.conftest import CORPUS, IENW

OCW = CORPUS / "text" / "ocw_documenten"


@pytest.mark.parametrize(
    ("query", "period", "sender", "types"),
    [
        ("Kamerbrief EZK 30 mei 2023", ("2023-05-30", "2023-05-30"), "Economische Zaken en Klimaat", ("Kamerbrief",)),
        ("antwoord minister van VWS februari 2024", ("2024-02", "2024-02"), "Volksgezondheid, Welzijn en Sport",
         ("antwoord op Kamervragen",)),
        ("motie over stikstof van 2023", ("2023", "2023"), None, ("motie",)),
        ("moties 2023 VWS", ("2023", "2023"), "Volksgezondheid, Welzijn en Sport", ("motie",)),
        ("Kamerbrief begroting 2024", None, None, ("Kamerbrief",)),  # a bare year beside a subject is the subject's
        ("Kamerbrief 2024Z02422", None, None, ("Kamerbrief",)),
        ("veiligheid van ambtenaren", None, None, ()),
        ("COM(2021) 726", None, None, ()),
    ],
)
def test_queries_are_read_for_date_sender_and_type(query: str, period: tuple | None, sender: str | None, types: tuple) -> None:
    understood = understand(query)
    assert (understood.period, understood.sender, understood.doc_types) == (period, sender, types)


def test_one_facet_alone_does_not_boost() -> None:
    """A content question that mentions a type or a month is not a metadata query."""
    assert not understand("Welke motie verzocht de regering om een bouwplicht in te voeren?").boosts()
    assert not understand("sancties na de aardbeving van februari 2023").boosts()
    assert understand("Kamerbrief IenW december 2022").boosts()


def test_a_metadata_query_finds_the_letter_of_that_date_and_says_what_it_understood(demo_path: Path) -> None:
    """Two IenW Kamerbrieven are in the demo archive (22 December 2022 and 3 February 2023); the
    query's words fit both, its month picks one."""
    result = CliRunner().invoke(cli, ["search", "Kamerbrief IenW december 2022", "-a", str(demo_path), "--json", "-k", "3"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    top = payload["hits"][0]["citation"]
    assert top["date"].startswith("2022-12") and top["doc_type"] == "Kamerbrief"
    assert "Infrastructuur en Waterstaat" in top["sender"]
    assert any("date 2022-12" in note and "type Kamerbrief" in note for note in payload["notes"])
    for month in ("februari 2023", "december 2022"):
        hits = json.loads(CliRunner().invoke(
            cli, ["search", f"Kamerbrief IenW {month}", "-a", str(demo_path), "--json", "-k", "1"]).stdout)["hits"]
        assert hits[0]["citation"]["date"].startswith("2023-02" if month.endswith("2023") else "2022-12")


@pytest.mark.parametrize(
    ("query", "content"),
    [
        ("Kamerbrief EZK 30 mei 2023", False),
        ("Kamerbrief van Economische Zaken en Klimaat van 30 mei 2023", False),
        ("antwoord minister van VWS februari 2024", False),
        ("brief van de staatssecretaris van Financiën van 13 april 2022", False),
        ("motie over stikstof van 2023", True),
        ("Kamerbrief EZK mei 2023 innovatie", True),
        ("Kamervragen van het lid Dobbe juni 2024", True),
    ],
)
def test_a_query_of_facets_alone_is_told_from_one_with_a_subject(query: str, content: bool) -> None:
    understood = understand(query)
    assert understood.boosts() and understood.content is content


LETTERS = (
    IENW / "Kamerbrief_innovatie_missie.pdf",  # EZK, 30 May 2023
    *(OCW / name for name in (
        "kamerbrief_over-de-uitvoering-motie-kwint-inzake-het-wettelijk-inperken-van-woekerhandel-in-de-doorverkoop-van-toegangskaarten.txt",
        "kamerbrief_beantwoording-motie-van-de-leden-van-der-woude-en-van-der-graaf.txt",
        "Kamerbrief_voortgang-verkenning-nationaal-historisch-museum.txt",
    )),
)


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """Real Kamerbrieven of EZK and OCW from 2023; the OCW letters name EZK and months of 2023 in their text."""
    folder = tmp_path_factory.mktemp("letters2023")
    for source in LETTERS:
        shutil.copy(source, folder / source.name)
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([folder]).ok
    return Archive.open(path)


@pytest.mark.parametrize(
    ("query", "sender", "month"),
    [
        ("Kamerbrief EZK 30 mei 2023", "Economische Zaken en Klimaat", "2023-05"),
        ("Kamerbrief van Economische Zaken en Klimaat van 30 mei 2023", "Economische Zaken en Klimaat", "2023-05"),
        ("Kamerbrief OCW november 2023", "Onderwijs, Cultuur en Wetenschap", "2023-11"),
    ],
)
def test_a_query_of_facets_alone_puts_the_letters_matching_them_all_first(letters: Archive, query: str, sender: str, month: str) -> None:
    """Before, the facets were only a soft boost, and the words "Kamerbrief", "OCW" and "2023" fit
    the EZK letter best: it came first for "Kamerbrief OCW november 2023"."""
    top = letters.search(query, k=1, per_doc=True)[0].citation
    assert sender in top.sender and top.date.startswith(month) and top.doc_type == "Kamerbrief"
