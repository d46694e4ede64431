"""Issue 17: dates, senders and document types in a query are understood and act as soft boosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.understand import understand


@pytest.mark.parametrize(
    ("query", "period", "sender", "types"),
    [
        ("Kamerbrief EZK 30 mei 2023", ("2023-05-30", "2023-05-30"), "Economische Zaken en Klimaat", ("Kamerbrief",)),
        ("antwoord minister van VWS februari 2024", ("2024-02", "2024-02"), "Volksgezondheid, Welzijn en Sport",
         ("antwoord op Kamervragen",)),
        ("motie over stikstof van 2023", ("2023", "2023"), None, ("motie",)),
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
