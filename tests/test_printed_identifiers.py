"""Identifiers printed on a document outside its text — a Woo document number in the running header,
a reference number in the sidebar — find the document first, without becoming passage text.

Real documents from the shared corpus, under names that do not give the number away: a Woo e-mail
whose number "181026" stands only at the top of its pages, and an IenW Kamerbrief whose sidebar
reads "Ons kenmerk DGBI – I&K/ 26844711"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive import Archive
from indexer import clean
from indexer.extract import extract
from tests.conftest import CORPUS, IENW
from tests.postgres_server import PostgresServer

WOO = CORPUS / "pdf" / "woo_vws_testdossiers" / "woo4" / "181026.pdf"
WOO_NUMBER = "181026"
SIDEBAR_LETTER = IENW / "Kamerbrief_innovatie_missie.pdf"
SIDEBAR_NUMBER = "26844711"


@pytest.fixture(scope="module")
def printed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("printed")
    shutil.copy(WOO, folder / "woo-email-testbeleid.pdf")
    shutil.copy(SIDEBAR_LETTER, folder / "kamerbrief-innovatie.pdf")
    return folder


@pytest.fixture(scope="module")
def printed_path(printed_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([printed_folder]).ok
    return path


@pytest.fixture(scope="module")
def printed_url(printed_folder: Path, postgres: PostgresServer) -> str:
    """The same documents ingested into PostgreSQL (through ingest, not copied: issue 19)."""
    url = postgres.create("printed")
    with Archive.open(url, create=True) as archive:
        assert archive.ingest([printed_folder]).ok
    return url


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def printed(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("printed_path" if request.param == "embedded" else "printed_url"))


def test_postgres_stores_the_same_lookup_keys(printed_path: Path, printed_url: str) -> None:
    """Ingest into PostgreSQL computes each document's keys, sidebar and furniture included, as the
    embedded store does."""
    with Archive.open(printed_path) as embedded, Archive.open(printed_url) as postgres:
        keys = [
            {Path(d.path).name: a.store.keys(d.id) for d in a.store.documents()} for a in (embedded, postgres)
        ]
    assert keys[0] == keys[1]
    assert {kind for doc in keys[1].values() for kind, _ in doc} >= {"sidebar", "furniture"}


def test_a_running_header_number_is_kept_apart_from_the_text() -> None:
    extraction = extract(WOO)
    assert WOO_NUMBER in extraction.furniture
    assert WOO_NUMBER not in extraction.text


def test_page_numbers_and_titles_are_not_kept() -> None:
    assert clean.identifier_lines(["3", "Pagina 2 van 5", "Internationale Klimaatstrategie | 9", "181026"]) == ["181026"]


@pytest.mark.parametrize(
    ("query", "name", "number"),
    [
        (WOO_NUMBER, "woo-email-testbeleid", WOO_NUMBER),
        (f"Woo-document {WOO_NUMBER}", "woo-email-testbeleid", WOO_NUMBER),
        (f"VWS-WOO-{WOO_NUMBER}", "woo-email-testbeleid", WOO_NUMBER),
        (SIDEBAR_NUMBER, "kamerbrief-innovatie", SIDEBAR_NUMBER),
    ],
)
def test_a_printed_identifier_finds_its_document_first(printed: str, query: str, name: str, number: str) -> None:
    with Archive.open(printed) as archive:
        [doc] = [d for d in archive.store.documents() if Path(d.path).stem == name]
        assert number not in archive.store.document_text(doc.id).replace(" ", "")  # only printed outside the text
        hits = archive.search(query, k=5)
        assert hits[0].document == doc.key
        assert hits[0].matched and number in hits[0].matched


def test_printed_identifiers_are_not_passage_text(printed: str) -> None:
    with Archive.open(printed) as archive:
        assert not archive.search(WOO_NUMBER, k=5, mode="lexical")
