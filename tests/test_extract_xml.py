"""officielebekendmakingen XML: text and official fields, and one document per publication."""

import shutil
from pathlib import Path

import pytest

from indexer.errors import ExtractError
from indexer.extract_xml import extract_xml, official_fields, sidecar_files
from indexer.letters import parse_letter

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PLOOI = CORPUS / "plooi_testdata"
OEP = PLOOI / "oep/repository.overheid.nl/frbr/officielepublicaties"
MOTIE = OEP / "kst/32545/kst-32545-143/1"
ANSWERS = OEP / "ah-tk/20202021/ah-tk-20202021-3235/1"


def test_kamerstuk_text_and_fields() -> None:
    extraction = extract_xml(MOTIE / "xml/kst-32545-143.xml")
    assert len(extraction.pages) == 1
    text = extraction.text
    assert "MOTIE VAN DE LEDEN INGE VAN DIJK EN GRINWIS" in text
    assert "verzoekt de regering, om een grensspaarsaldo te definiëren" in text
    assert "externMetadataRecord" not in text and "zoek.officielebekendmakingen.nl" not in text
    assert extraction.fields == {
        "dossier": "32545",
        "ondernummer": "143",
        "vergaderjaar": "2020-2021",
        "date": "2021-07-06",
        "title": "Motie van de leden Inge van Dijk en Grinwis over het definiëren van een grensspaarsaldo voor negatieve spaarrente",
        "doc_type": "motie",
        "sender": "Tweede Kamer der Staten-Generaal",
        "signatory": "I. (Inge) van Dijk, P.A. Grinwis",
    }


def test_kamervragen_answer_gets_its_aanhangsel_and_answer_date() -> None:
    extraction = extract_xml(ANSWERS / "xml/ah-tk-20202021-3235.xml")
    letter = parse_letter(extraction)
    assert letter.aanhangsel == "ah-tk-20202021-3235"
    assert letter.date == "2021-06-21"
    assert letter.doc_type == "antwoord op Kamervragen"
    assert letter.title == "Antwoord op vragen van de leden Van Weyenberg, Romke de Jong en Kat over de Tozo"
    assert letter.sender == "Ministerie van Sociale Zaken en Werkgelegenheid", "the Kamer only publishes the answer"
    assert "Vraag 1" in extraction.text and "Staatsblad 2020, 118" in extraction.text


def test_official_fields_serve_the_pdf_rendering_too() -> None:
    assert official_fields(MOTIE / "pdf/kst-32545-143.pdf")["ondernummer"] == "143"
    bijlage = official_fields(OEP / "blg/onopgemaakt/blg-1007826/1/pdf/blg-1007826.pdf")
    assert bijlage["doc_type"] == "bijlage" and bijlage["dossier"] == "33037"
    assert "ondernummer" not in bijlage, "a bijlage has no number of its own; 430 is its main document's"
    assert official_fields(CORPUS / "pdf/ienw_kamerbrieven_pdftextsplitter/Kamerbrief_water_en_Bodem.pdf") == {}


@pytest.mark.parametrize("name", ["metadata/metadata.xml", "metadataowms/metadata_owms.xml"])
def test_metadata_records_are_not_documents(name: str) -> None:
    with pytest.raises(ExtractError, match="not an officielebekendmakingen publication"):
        extract_xml(MOTIE / name)


def test_a_plooi_folder_becomes_one_document_per_publication() -> None:
    files = sorted(p for p in PLOOI.rglob("*") if p.suffix in {".pdf", ".xml"})
    documents = set(files) - sidecar_files(files)
    assert sorted(p.relative_to(PLOOI).as_posix() for p in documents) == [
        "oep/repository.overheid.nl/frbr/officielepublicaties/ah-tk/20202021/ah-tk-20202021-3235/1/pdf/ah-tk-20202021-3235.pdf",
        "oep/repository.overheid.nl/frbr/officielepublicaties/blg/onopgemaakt/blg-1007826/1/pdf/blg-1007826.pdf",
        "oep/repository.overheid.nl/frbr/officielepublicaties/kst/32545/kst-32545-143/1/pdf/kst-32545-143.pdf",
        "ronl-archief/plooicb-2011-5424/1/pdf/20110301-5687928a-draagmoederschap.pdf",
        "ronl/fiche-5-herziening-verordening-en-richtlijn-markten-voor-financiele-instrumenten.pdf",
    ]


@pytest.mark.parametrize("content", ["<officiele-publicatie><kamerstuk><al>afgebroken", "geen xml", ""])
def test_broken_xml_is_reported_not_hidden(tmp_path: Path, content: str) -> None:
    broken = tmp_path / "kst-1.xml"
    broken.write_text(content, encoding="utf-8")
    assert sidecar_files([broken]) == set()
    with pytest.raises(ExtractError, match="not readable as XML"):
        extract_xml(broken)


def test_xml_without_its_pdf_is_the_document(tmp_path: Path) -> None:
    copy = tmp_path / "kst-32545-143" / "1"
    shutil.copytree(MOTIE / "xml", copy / "xml")
    shutil.copytree(MOTIE / "metadata", copy / "metadata")
    xml = copy / "xml/kst-32545-143.xml"
    assert sidecar_files([xml, copy / "metadata/metadata.xml"]) == {copy / "metadata/metadata.xml"}
    assert extract_xml(xml).fields["title"].startswith("Motie van de leden Inge van Dijk")
