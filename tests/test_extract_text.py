"""extract_text on the seed letters and corpus text files: decoding, colophon, footers, page breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import ExtractError
from indexer.extract_text import decode, extract_text
from tests.conftest import CORPUS, SEEDS

TEXTS = CORPUS / "text"


def test_financien_letter_moves_its_colophon_to_the_sidebar() -> None:
    extraction = extract_text(SEEDS / "brief-financien-2022-04-13.txt")
    assert extraction.sidebar.splitlines() == [
        "Retouradres Postbus 20201 2500 EE Den Haag",
        "Directie Bedrijfsvoering",
        "Eenheid Organisatie en Personeel",
        "Korte Voorhout 7",
        "2511 CW Den Haag",
        "Postbus 20201",
        "2500 EE Den Haag",
        "www.rijksoverheid.nl",
        "Inlichtingen mw. V.P.H. Sijben",
        "T 06-11747550",
        "v.p.h.sijben@minfin.nl",
        "www.minfin.nl",
        "Ons kenmerk 2022-0000088502",
        "Uw brief (kenmerk)",
        "Datum 13 april 2022",
        "Betreft Reactie op uw brief",
    ]
    text = extraction.text
    assert text.startswith("FNV Overheid CNV Overheid CMHF per e-mail: p.dolsma@minfin.nl\n\nGeachte mevrouw Van Vliet")
    # The sidebar block repeated as a page-2 header mid-letter is gone, the paragraphs around it stay.
    assert "Directie" not in text and "kenmerk" not in text and "0000088502" not in text and "**" not in text
    assert "het goede voorbeeld te laten zien.\n\nVoorts vind ik het, met jullie," in text
    assert len(extraction.pages) == 1


def test_vws_kamerbrief_hyphens_and_footer() -> None:
    extraction = extract_text(SEEDS / "kamerbrief-vws-2024-02-27.txt")
    assert extraction.sidebar == "Tweede Kamer, vergaderjaar 2023–2024, 36 410 XVI, nr. 137"
    text = extraction.text
    assert "De volle inzet van de ambtelijke leiding" in text
    assert "medewerkers van het VWS-concern in de FNV-enquêtes heeft" in text
    assert "op directie-, afdelings- en/of teamniveau" in text
    assert "integriteitscoördinatoren" in text and "omgangsvormen te verbeteren" in text
    assert "als secretaris-generaal van het Ministerie" in text
    assert "Tweede Kamer, vergaderjaar" not in text
    assert text.endswith("De Minister van Volksgezondheid, Welzijn en Sport, C. Helder")
    # A blank line inside a list item was an extraction artefact: the item is one line again.
    assert "\n1) inventariseren in hoeverre en waar er problemen zijn op het gebied van sociale veiligheid" in text
    assert all(paragraph.strip() for paragraph in text.split("\n\n"))


def test_motie_footer_goes_to_the_sidebar() -> None:
    extraction = extract_text(TEXTS / "moties/3a223ca6-ab6f-45f4-80f7-5ed1edc4b567.txt")
    assert extraction.sidebar.splitlines() == [
        "kst-36180-36",
        "ISSN 0921 - 7371",
        "Tweede Kamer, vergaderjaar 2022–2023, 36 180, nr. 36",
    ]
    text = extraction.text
    assert "Gravenhage" not in text and "ISSN" not in text
    assert "\n\n1\n\n" not in text  # the page number between the two printed pages
    assert "en gaat over tot de orde van de dag." in text


def test_flattened_ocw_letter_loses_its_repeated_kenmerk() -> None:
    extraction = extract_text(TEXTS / "ocw_documenten/Kamerbrief_voortgang-verkenning-nationaal-historisch-museum.txt")
    assert "Onze ref erentie 4 1 059776" in extraction.sidebar.splitlines()
    assert any(line.startswith("Datum 6 november 2023") for line in extraction.sidebar.splitlines())
    text = extraction.text
    assert "ref erentie" not in text and "059776" not in text and "P agina" not in text
    assert "het succes van de theater voorstelling De Vergeten Twentse Lente" in text
    assert len(extraction.pages) == 4


def test_form_feeds_split_pages_and_running_lines_go(tmp_path: Path) -> None:
    page = "Voortgangsrapportage stikstof\n\n{body}\n\nVoortgangsrapportage stikstof {n}\n"
    pages = [page.format(body=f"Tekst van pagina {n} over de aanpak.", n=n) for n in (1, 2, 3)]
    path = tmp_path / "rapport.txt"
    path.write_text("\f".join(pages), encoding="utf-8")
    extraction = extract_text(path)
    assert [p.text for p in extraction.pages] == [f"Tekst van pagina {n} over de aanpak." for n in (1, 2, 3)]
    assert [p.number for p in extraction.pages] == [1, 2, 3]


def test_encodings() -> None:
    dutch = "De minister van Financiën – ‘coördinatie’ – kost € 5 en ideeën.\n"
    assert decode(dutch.encode("cp1252")) == dutch
    assert decode(dutch.encode("utf-8-sig")) == dutch
    assert decode(dutch.encode("utf-16")) == dutch
    assert decode("Financiën en coördinatie\n".encode("latin-1")) == "Financiën en coördinatie\n"
    # UTF-8 that was once read as cp1252 and saved again.
    assert decode(dutch.encode("utf-8").decode("cp1252").encode("utf-8")) == dutch


def test_binary_and_empty_files_are_refused(tmp_path: Path) -> None:
    cases = {
        "empty.txt": b"",
        "blank.txt": b" \n\n\t",
        "nul.txt": b"PK\x03\x04\x00\x00\x08\x00 zip header",
        "controls.txt": bytes(range(1, 9)) * 40 + b"tekst",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ExtractError, match="empty|binary"):
            extract_text(tmp_path / name)


def test_furniture_only_is_no_text(tmp_path: Path) -> None:
    path = tmp_path / "footer.txt"
    path.write_text("3\n\nTweede Kamer, vergaderjaar 2023–2024, 36 410 XVI, nr. 137\n", encoding="utf-8")
    with pytest.raises(ExtractError, match="no text"):
        extract_text(path)
