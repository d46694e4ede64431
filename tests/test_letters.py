"""Letter fields from real letters: the seeds, a pdftotext Kamerbrief, a motie, Kamervragen; Dutch dates."""

from collections.abc import Callable
from pathlib import Path

import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.colophon import clean_kenmerk, read_labels
from indexer.dates import letter_date, parse_date
from indexer.extract_pdf import extract_pdf
from indexer.extract_text import extract_text
from indexer.letters import parse_letter
from indexer.ministries import normalise_sender
from indexer.records import Extraction, Page

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "corpus"
CORPUS = REPO.parent / "shared" / "corpus"
FINANCIEN = SEEDS / "brief-financien-2022-04-13.txt"
VWS = SEEDS / "kamerbrief-vws-2024-02-27.txt"


def from_text(path: Path) -> Extraction:
    """The file's own lines, one page per form-feed-separated part and no sidebar, as pdftotext leaves them."""
    return Extraction(pages=[Page(n, part) for n, part in enumerate(path.read_text(encoding="utf-8").split("\f"), 1)])


READERS = [pytest.param(from_text, id="raw-lines"), pytest.param(extract_text, id="extract_text")]
"""The seeds as raw lines and as the text extractor hands them over: colophon in the sidebar, lines joined."""


@pytest.mark.parametrize("read", READERS)
def test_financien_seed(read: Callable[[Path], Extraction]) -> None:
    letter = parse_letter(read(FINANCIEN), FINANCIEN)
    assert letter.date == "2022-04-13"
    assert letter.kenmerk == "2022-0000088502"
    assert letter.uw_brief_date == "2022-02-22"
    assert letter.sender == "Ministerie van Financiën"
    assert letter.title == "Reactie op uw brief"
    assert letter.doc_type == "brief"
    assert letter.sender_unit == "Directie Bedrijfsvoering Eenheid Organisatie en Personeel"
    assert letter.addressee.replace(",", "") == "FNV Overheid CNV Overheid CMHF"
    assert letter.signatory.replace(",", "") == "Bas van den Dungen secretaris-generaal"
    assert letter.uw_kenmerk is None
    assert all(ref.value != "2022-0000088502" for ref in letter.references)


def test_financien_seed_with_its_colophon_as_sidebar() -> None:
    """The PDF extractor hands the colophon over as a sidebar of one field per line."""
    text = FINANCIEN.read_text(encoding="utf-8")
    body = text[text.index("Geachte") :]
    sidebar = "Ons kenmerk 2022-0000088502\nDatum 13 april 2022\nBetreft Reactie op uw brief"
    letter = parse_letter(Extraction(pages=[Page(1, body)], sidebar=sidebar))
    assert (letter.date, letter.kenmerk, letter.title) == ("2022-04-13", "2022-0000088502", "Reactie op uw brief")
    assert letter.uw_brief_date == "2022-02-22"
    assert letter.sender == "Ministerie van Financiën"


@pytest.mark.parametrize("read", READERS)
def test_vws_kamerbrief_seed(read: Callable[[Path], Extraction]) -> None:
    letter = parse_letter(read(VWS), VWS)
    assert letter.date == "2024-02-27"
    assert letter.doc_type == "Kamerbrief"
    assert (letter.dossier, letter.ondernummer, letter.vergaderjaar) == ("36410-XVI", "137", "2023-2024")
    assert letter.sender == "Ministerie van Volksgezondheid, Welzijn en Sport"
    assert letter.signatory == "De Minister van Volksgezondheid, Welzijn en Sport, C. Helder"
    assert letter.addressee == "Aan de Voorzitter van de Tweede Kamer der Staten-Generaal"
    assert letter.title == "Brief van de minister van Volksgezondheid, Welzijn en Sport"
    assert [(r.kind, r.value) for r in letter.references] == [
        ("kenmerk", "2024Z00446"), ("zaak", "2024Z00446"), ("kenmerk", "2024Z02422"), ("zaak", "2024Z02422")
    ]


def test_pdftotext_kamerbrief_with_labels_stacked_above_values() -> None:
    """pdftotext prints "Datum\\nBetreft" and only then both values; "Bijlage(n)" waits for its value."""
    path = CORPUS / "reference_text/ienw_kamerbrieven_pdftextsplitter/Kamerbrief_emissie_luchtvaart.txt"
    letter = parse_letter(from_text(path))
    assert (letter.date, letter.title) == ("2022-12-22", "Emissies door de luchtvaart")
    assert letter.kenmerk == "IENW/BSK-2022/268034"
    assert letter.sender == "Ministerie van Infrastructuur en Waterstaat"
    assert letter.signatory == "De minister van Infrastructuur en Waterstaat, Mark Harbers"
    assert ("kamerstuk", "30175:414") in [(r.kind, r.value) for r in letter.references]


@pytest.mark.parametrize(
    ("pdf", "kenmerk", "title"),
    [
        (
            "pdf/ienw_kamerbrieven_pdftextsplitter/Kamerbrief_innovatie_missie.pdf",
            "DGBI – I&K/26844711",
            "Herijkte missies van het missiegedreven innovatiebeleid",
        ),
        (
            "plooi_testdata/ronl-archief/plooicb-2011-5424/1/pdf/20110301-5687928a-draagmoederschap.pdf",
            "5687928/11",
            "Draagmoederschap",
        ),
    ],
)
def test_colophon_interleaved_with_the_address_block(pdf: str, kenmerk: str, title: str) -> None:
    """pdfplumber reads the two columns line by line: "Datum 1 maart 2011 5687928/11" under "Ons kenmerk",
    and the body follows the subject without a blank line or a salutation."""
    with pdfplumber.open(CORPUS / pdf) as document:
        pages = [Page(n, page.extract_text() or "") for n, page in enumerate(document.pages, 1)]
    letter = parse_letter(Extraction(pages=pages))
    assert (letter.kenmerk, letter.title) == (kenmerk, title)


def test_kamerbrief_through_the_pdf_extractor() -> None:
    """extract_pdf hands the colophon over as a sidebar, two fields sometimes on one line."""
    path = CORPUS / "pdf/ienw_kamerbrieven_pdftextsplitter/Kamerbrief_innovatie_missie.pdf"
    letter = parse_letter(extract_pdf(path), path)
    assert (letter.date, letter.kenmerk) == ("2023-05-30", "DGBI – I&K/26844711")
    assert letter.title == "Herijkte missies van het missiegedreven innovatiebeleid"
    assert letter.sender == "Ministerie van Economische Zaken en Klimaat"
    assert letter.signatory == "Minister van Economische Zaken en Klimaat, M.A.M. Adriaansens"


def test_motie() -> None:
    path = CORPUS / "text/moties/009bc14a-e7cf-4f5d-a07d-f1e760bb646e.txt"
    letter = parse_letter(from_text(path))
    assert letter.doc_type == "motie"
    assert (letter.dossier, letter.ondernummer, letter.vergaderjaar, letter.date) == (
        "29984",
        "1082",
        "2022-2023",
        "2023-01-26",
    )
    assert letter.title == "Motie van de leden Minhas en Van der Graaf"
    assert letter.signatory == "Minhas, Van der Graaf"
    assert letter.sender == "Tweede Kamer der Staten-Generaal"


def test_motie_exported_with_its_id_on_the_first_line() -> None:
    path = CORPUS / "text/moties/5d45551c-e134-4a90-82c9-9fad56829b48.txt"
    letter = parse_letter(from_text(path))
    assert (letter.dossier, letter.ondernummer, letter.date) == ("36410-V", "55", "2024-02-14")


def test_answered_kamervragen() -> None:
    path = CORPUS / "reference_text/aanhangsel_kamervragen/1a2d8959-7ce1-411d-bffe-c78970ae8d6b.txt"
    letter = parse_letter(from_text(path))
    assert letter.doc_type == "antwoord op Kamervragen"
    assert letter.aanhangsel == "ah-tk-20232024-2210"
    assert letter.date == "2024-07-23", "the answer's date, wrapped over two lines, not the questions' date"
    assert letter.vergaderjaar == "2023-2024"
    assert letter.sender == "Ministerie van Klimaat en Groene Groei"


def test_official_fields_win() -> None:
    extraction = from_text(VWS)
    extraction.fields = {"title": "Sociale veiligheid VWS", "date": "2024-02-28", "not_a_field": "x"}
    letter = parse_letter(extraction)
    assert (letter.title, letter.date, letter.dossier) == ("Sociale veiligheid VWS", "2024-02-28", "36410-XVI")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("27 februari 2024", "2024-02-27"),
        ("Den Haag, 27 februari 2024", "2024-02-27"),
        ("13-04-2022", "2022-04-13"),
        ("1 mei 2023", "2023-05-01"),
        ("27 feb. 2024", "2024-02-27"),
        ("3 sept 2021", "2021-09-03"),
        ("vrijdag 18 september 2020 14:51", "2020-09-18"),
        ("31 april 2023", None),
        ("Oktober 2023", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_letter_date_ignores_dates_only_mentioned() -> None:
    assert letter_date("Op 9 maart 2022 hebben wij gesproken.\nIn jullie brief van 22 februari 2022 …") is None
    assert letter_date("Ons kenmerk\n123\nDatum\nBetreft\n\n3 februari 2023\nTitel") == "2023-02-03"
    assert letter_date("Ministerie van VWS\n\nNAAM van verzoeker\n\n0 9 AUG 2022\n\nWoo-deelbesluit") == "2022-08-09"


def test_labels_from_a_flattened_layout() -> None:
    line = "Datum       6 november 2023 Betreft     Voortgang verkenning nationaal historisch museum"
    assert read_labels("Onze ref erentie          4 1 059776\n\n" + line) == {
        "kenmerk": "4 1 059776",
        "datum": "6 november 2023",
        "betreft": "Voortgang verkenning nationaal historisch museum",
    }


@pytest.mark.parametrize(
    ("printed", "clean"),
    [
        ("I E NW/BSK-2023/33017", "IENW/BSK-2023/33017"),
        ("DGBI – I&K/ 26844711", "DGBI – I&K/26844711"),
        ("4 1 059776", "41059776"),
    ],
)
def test_clean_kenmerk(printed: str, clean: str) -> None:
    assert clean_kenmerk(printed) == clean


@pytest.mark.parametrize(
    ("printed", "sender"),
    [
        ("Ministerie van VWS (Woo-openbaarmaking COVID-19)", "Ministerie van Volksgezondheid, Welzijn en Sport"),
        ("De Minister van VWS", "Ministerie van Volksgezondheid, Welzijn en Sport"),
        ("ministerie van financien", "Ministerie van Financiën"),
        ("De minister voor Primair en Voortgezet Onderwijs", "Ministerie van Onderwijs, Cultuur en Wetenschap"),
        ("Tweede  Kamer der Staten-Generaal", "Tweede Kamer der Staten-Generaal"),
    ],
)
def test_normalise_sender(printed: str, sender: str) -> None:
    assert normalise_sender(printed) == sender


@given(st.text(max_size=2000), st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arbitrary_text(text: str, sidebar: str) -> None:
    parse_letter(Extraction(pages=[Page(1, text)], sidebar=sidebar))


LETTERISH = st.sampled_from(
    [
        "Datum",
        "Betreft",
        "Ons kenmerk",
        "Uw brief van",
        "Aan:",
        "\n",
        "\n\n",
        " ",
        "  ",
        "13 april 2022",
        "2022-0000088502",
        "Retouradres",
        "Postbus 20201",
        "Nr. 137",
        "Vergaderjaar 2023–2024",
        "36 410 XVI",
        "MOTIE VAN HET LID X",
        "De Minister van VWS,",
        "Met vriendelijke groet,",
        "en gaat over tot de orde van de dag.",
        "(ontvangen 1 mei",
        "Aanhangsel van de Handelingen",
        "Geachte",
    ]
)


@given(st.lists(LETTERISH, max_size=80).map("".join), st.lists(LETTERISH, max_size=20).map("".join))
@settings(max_examples=400, deadline=None)
def test_never_raises_on_letter_like_noise(text: str, sidebar: str) -> None:
    letter = parse_letter(Extraction(pages=[Page(1, text)], sidebar=sidebar))
    assert letter.date is None or parse_date(letter.date) == letter.date
