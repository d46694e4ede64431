"""Every identifier kind a clerk types finds its document first: the kinds without a search test
elsewhere, on real documents. (Kamerstuk and kenmerk: test_cli_search.py; EU document, ECLI,
Staatsblad, Staatscourant: test_hardening_cli.py; Woo document number and identifiers printed in a
sidebar or running header: test_printed_identifiers.py; parsing of every kind: test_references.py.)

A TK documentnummer cited in an Aanhangsel's footnote (zaak), that Aanhangsel's own number
(aanhangsel) and a motie's dossier (dossier), among two other Aanhangsels and a Kamerbrief."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive import Archive
from tests.conftest import CORPUS, DEMO, IENW

FOOTNOTED = CORPUS / "pdf" / "aanhangsel_kamervragen" / "01b2bcad-7296-43bb-bc44-e727fc69b23f.pdf"
"""Aanhangsel 2023/24 nr. 2129; a footnote cites TK documentnummer 2022D25169."""


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kinds")
    for source in (FOOTNOTED, DEMO / "aanhangsel-tk-20232024-1314.pdf", DEMO / "motie-32637-542.txt",
                   IENW / "Kamerbrief_emissie_luchtvaart.pdf",
                   CORPUS / "pdf" / "aanhangsel_kamervragen" / "1b0f0b98-7c34-418c-98dc-43de7930e685.pdf"):
        shutil.copy(source, folder / source.name)
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([folder]).ok
    return path


@pytest.mark.parametrize(
    ("query", "name", "why"),
    [
        ("2022D25169", FOOTNOTED.stem, "names zaak"),
        ("Aanhangsel Handelingen II 2023/24, nr. 2129", FOOTNOTED.stem, "Aanhangsel"),
        ("ah-tk-20232024-2129", FOOTNOTED.stem, "Aanhangsel"),
        ("moties dossier 32637", "motie-32637-542", "dossier"),
    ],
)
def test_the_kind_finds_its_document_first(kinds: Path, query: str, name: str, why: str) -> None:
    with Archive.open(kinds) as archive:
        hits = archive.search(query, k=3)
        assert Path(archive.store.document_by_key(hits[0].document).path).stem == name
        assert hits[0].matched and hits[0].matched.startswith(why)


KENMERKEN = {
    "DGBI – I&K/26844711": IENW / "Kamerbrief_innovatie_missie.pdf",
    "5687928/11": CORPUS / "plooi_testdata" / "ronl-archief" / "plooicb-2011-5424" / "1" / "pdf" / "20110301-5687928a-draagmoederschap.pdf",
    "1747084-210433-PDC19": CORPUS / "pdf" / "woo_vws_testdossiers" / "woo1" / "171115.pdf",
}
"""Own kenmerken of shapes too common to find in text without the word "kenmerk" (bench/identifier_sweep.py:
before, each bare form found nothing in the whole corpus)."""


@pytest.fixture(scope="module")
def kenmerken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kenmerken")
    for source in KENMERKEN.values():
        shutil.copy(source, folder / source.name)
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([folder]).ok
    return path


@pytest.mark.parametrize("kenmerk", sorted(KENMERKEN))
def test_a_kenmerk_typed_bare_finds_its_letter_first(kenmerken: Path, kenmerk: str) -> None:
    with Archive.open(kenmerken) as archive:
        hits = archive.search(kenmerk, k=3, per_doc=True)
        assert Path(archive.store.document_by_key(hits[0].document).path).name == KENMERKEN[kenmerk].name
        assert hits[0].matched and hits[0].matched.startswith("kenmerk")
