"""Issue 14, the query and display side: links out of the folder, filter values, metadata values,
file names that would break a line, query files with bad lines. Each through the CLI, each checking
the exit code, that the message names the file or value, and that the archive still answers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from indexer.letters import MAX_FIELD_CHARS, parse_letter
from indexer.records import Extraction, Page

LETTER = """Ministerie van Financiën

Datum 3 maart 2023
Betreft Inkoop van kantoorpapier

Geachte voorzitter,

Hierbij informeer ik u over de gezamenlijke inkoop van kantoorpapier door de ministeries.
"""
SECRET_WORD = "zwaardvisgeheim"


def invoke(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def archive_copy(demo_path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "archive"
    shutil.copytree(demo_path, target)
    return target


def still_answers(path: Path) -> None:
    """The demo archive's own letters are still found, first, for their identifiers."""
    result = invoke("search", "2022-0000088502", "-a", str(path), "--json", "-k", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"][0]["citation"]["kenmerk"] == "2022-0000088502"


def test_symlink_out_of_the_folder_is_skipped_and_reported(archive_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elders"
    outside.mkdir()
    (outside / "wachtwoorden.txt").write_text(f"Het {SECRET_WORD} staat hier.\n" * 5)
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "brief.txt").write_text(LETTER)
    (docs / "x.txt").symlink_to(outside / "wachtwoorden.txt")
    (docs / "elders").symlink_to(outside, target_is_directory=True)
    (docs / "bewaard.dat").write_text(LETTER.replace("kantoorpapier", "bureaustoelen"))
    (docs / "sub" / "kopie.txt").symlink_to(docs / "bewaard.dat")  # a link inside the tree is fine
    result = invoke("ingest", str(docs), "-a", str(archive_copy), "-q")
    assert result.exit_code == 1
    assert f"{docs / 'x.txt'}" in result.stderr and str(outside / "wachtwoorden.txt") in result.stderr
    assert "outside" in result.stderr
    assert f"{docs / 'elders'}: symlink to folder {outside}" in result.stderr
    with Archive.open(archive_copy) as archive:
        names = {Path(d.path).name for d in archive.store.documents()}
        assert {"brief.txt", "kopie.txt"} <= names and "x.txt" not in names
        assert not archive.search(SECRET_WORD, mode="lexical")
    still_answers(archive_copy)


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--from", "2023-13-45", "2023-13-45"),
        ("--from", "gisteren", "gisteren"),
        ("--to", "2024-02-30", "2024-02-30"),
        ("--type", "%", "unknown document type"),
    ],
)
def test_filter_values_are_checked(demo_path: Path, option: str, value: str, needle: str) -> None:
    result = invoke("search", "veiligheid", "-a", str(demo_path), option, value)
    assert result.exit_code == 1
    assert needle in result.output and "Traceback" not in result.output
    still_answers(demo_path)


def test_a_backwards_period_is_refused(demo_path: Path) -> None:
    result = invoke("search", "veiligheid", "-a", str(demo_path), "--from", "2024", "--to", "2023-12")
    assert result.exit_code == 1 and "backwards" in result.output


def test_filter_values_match_literally(demo_path: Path) -> None:
    """`%` and `_` are characters: as LIKE patterns they matched every document."""
    for option, value in (("--sender", "%"), ("--sender", "_"), ("--dossier", "%")):
        result = invoke("search", "veiligheid", "-a", str(demo_path), option, value, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["hits"] == [], (option, value)
    result = invoke("search", "veiligheid", "-a", str(demo_path), "--sender", "financiën", "--json")
    senders = {h["citation"]["sender"] for h in json.loads(result.stdout)["hits"]}
    assert senders and all("Financiën" in s for s in senders)
    result = invoke("search", "veiligheid", "-a", str(demo_path), "--type", "kamerbrief", "--json")
    assert {h["citation"]["doc_type"] for h in json.loads(result.stdout)["hits"]} == {"Kamerbrief"}


def test_official_metadata_is_validated_like_the_text() -> None:
    """A metadata.xml date that is no date leaves the letter's own date; a megabyte title is cut."""
    extraction = Extraction(
        [Page(1, LETTER)], fields={"date": "not-a-date", "title": "woord " * 200_000, "vergaderjaar": "ooit"}
    )
    letter = parse_letter(extraction)
    assert letter.date == "2023-03-03"
    assert len(letter.title) <= MAX_FIELD_CHARS + 1 and letter.title.endswith("…")
    assert letter.vergaderjaar is None
    assert parse_letter(Extraction([Page(1, LETTER)], fields={"date": "2024-02-27"})).date == "2024-02-27"


def test_hostile_file_names_and_titles_stay_on_their_line(archive_copy: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    name = "brief\nnaam \x1b[31mrood.txt"
    (docs / name).write_text(LETTER.replace("Inkoop van kantoorpapier", "Inkoop " + "papier " * 100_000))
    result = invoke("ingest", str(docs), "-a", str(archive_copy), "-q")
    assert result.exit_code == 0, result.output
    result = invoke("search", "kantoorpapier ministeries", "-a", str(archive_copy), "-k", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any("brief\\nnaam \\x1b[31mrood.txt" in line for line in lines)
    assert "\x1b" not in result.stdout and not any(line.startswith("naam") for line in lines)
    assert len(result.stdout) < 4 * MAX_FIELD_CHARS, "the title is printed once, bounded"
    result = invoke("search", "kantoorpapier ministeries", "-a", str(archive_copy), "-k", "1", "--json")
    assert json.loads(result.stdout)["hits"][0]["citation"]["path"].endswith(name)
    still_answers(archive_copy)


def test_eval_names_the_file_and_line_of_a_bad_query(demo_path: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    for content, needle in (
        ('{"query": "veiligheid", "relevant": ["x"]}\n{"query": "kapot"\n', f"{queries}:2: not valid JSON"),
        ('{"query": "veiligheid", "relevant": "x"}\n', f"{queries}:1: each line needs a non-empty 'relevant'"),
        ("[1, 2]\n", f"{queries}:1: each line needs a 'query'"),
        ("\n", f"{queries}: no queries"),
    ):
        queries.write_text(content)
        result = invoke("eval", str(queries), "-a", str(demo_path))
        assert result.exit_code == 1 and needle in result.output, result.output
        assert "Traceback" not in result.output


def test_a_query_of_a_megabyte_is_cut_to_the_model_limit_with_a_note(demo_path: Path) -> None:
    query = "Wat doet de werkgever voor de veiligheid van ambtenaren? " + "werksfeer " * 100_000
    result = invoke("search", query, "-a", str(demo_path), "--json", "-k", "3")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["hits"] and "cut" in payload["notes"][0]
    assert "note: the query was cut" in result.stderr
    short = invoke("search", "veiligheid van ambtenaren", "-a", str(demo_path), "--json")
    assert json.loads(short.stdout)["notes"] == []


def test_a_file_name_that_is_not_utf8_is_stored_and_shown_escaped(archive_copy: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    name = os.fsdecode(b"brief-caf\xe9.txt")
    (docs / name).write_text(LETTER)
    result = invoke("ingest", str(docs), "-a", str(archive_copy), "-q")
    assert result.exit_code == 0, result.output
    text = invoke("search", "kantoorpapier ministeries", "-a", str(archive_copy), "-k", "1")
    assert text.exit_code == 0 and "brief-caf\\xe9.txt" in text.stdout
    hit = json.loads(invoke("search", "kantoorpapier", "-a", str(archive_copy), "-k", "1", "--json").stdout)["hits"][0]
    assert hit["citation"]["path"].endswith("brief-caf\\xe9.txt")
    with Archive.open(archive_copy) as archive:
        assert any(d.path == str(docs / name) for d in archive.store.documents())
    shown = invoke("show", hit["document"], "-a", str(archive_copy))
    assert shown.exit_code == 0 and "kantoorpapier" in shown.stdout
    still_answers(archive_copy)


@pytest.mark.parametrize(
    ("query", "why"),
    [("COM(2021) 726", "names EU document"), ("ECLI:NL:RVS:2022:3159", "names uitspraak"),
     ("Stb. 2015, 511", "names Staatsblad"), ("Staatscourant 2022, 7656", "names Staatscourant")],
)
def test_identifiers_a_letter_names_find_it_first(archive_copy: Path, tmp_path: Path, query: str, why: str) -> None:
    """Issue 17: an identifier printed in a letter's text (not its own metadata) finds that letter first."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fiche.txt").write_text(
        LETTER + "\nHet voorstel COM(2021) 726 volgt op de uitspraak ECLI:NL:RVS:2022:3159 en op de wet in "
        "Stb. 2015, 511; de regeling staat in Stcrt. 2022, 7656.\n"
    )
    assert invoke("ingest", str(docs), "-a", str(archive_copy), "-q").exit_code == 0
    hit = json.loads(invoke("search", query, "-a", str(archive_copy), "-k", "1", "--json").stdout)["hits"][0]
    assert hit["document"] == "fiche" and hit["matched"].startswith(why)
