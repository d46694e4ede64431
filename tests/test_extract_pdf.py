"""extract_pdf on real corpus PDFs and small hand-written ones: pdfplumber characters, colophon sidebar,
running lines, paragraphs, errors and OCR."""

from __future__ import annotations

import collections
import re
import shutil
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest

from indexer import extract_pdf as extract_pdf_module
from indexer.errors import ExtractError
from indexer.extract_pdf import extract_pdf
from tests.conftest import CORPUS, IENW, SEEDS

AANHANGSEL = CORPUS / "pdf/aanhangsel_kamervragen/1a2d8959-7ce1-411d-bffe-c78970ae8d6b.pdf"
SCAN = CORPUS / "pdf/woo_vws_besluit/woo-deelbesluit-digitale-middelen-feb-2021_besluitbrief.pdf"
FIXTURES = Path(__file__).parent / "fixtures/pdf"


@pytest.fixture(scope="module")
def circulaire():
    return extract_pdf(IENW / "Kamerbrief_circulaire_economie.pdf")


def test_rijkshuisstijl_sidebar_is_one_field_per_line(circulaire) -> None:
    assert circulaire.sidebar.splitlines() == [
        "Retouradres Postbus 20901 2500 EX Den Haag",
        "Datum 3 februari 2023",
        "Betreft Nationaal Programma Circulaire Economie 2023-2030 (NPCE) incl. kabinetsreactie op ICER en "
        "SER-verkenning",
        "Ministerie van Infrastructuur en Waterstaat",
        "Rijnstraat 8",
        "2515 XP Den Haag",
        "Postbus 20901",
        "2500 EX Den Haag",
        "T 070-456 0000",
        "F 070-456 1111",
        "Kenmerk IENW/BSK-2023/33017",  # pdftotext and pdfium read the kerned "IenW" letter by letter
        "Bijlage(n) 4",
    ]


def test_body_has_no_colophon_or_page_furniture(circulaire) -> None:
    assert len(circulaire.pages) == 7
    for page in circulaire.pages:
        for residue in ("Pagina", "Kenmerk", "BSK-2023", "Waterstaat", "Retouradres", "Rijnstraat"):
            assert residue not in page.text, (page.number, residue)
    first = circulaire.pages[0].text
    assert first.startswith("De voorzitter van de Tweede Kamer der Staten-Generaal Postbus 20018 2500 EA DEN HAAG\n\n")
    assert "\n\nGeachte voorzitter,\n\nMet deze Kamerbrief bied ik u," in first
    assert "\n\nDe circulaire transitie versnellen\n\nDe manier waarop" in first  # bold heading stands apart
    assert circulaire.pages[1].text.startswith("landen voor onze grondstoffen 1. Versnellen van de transitie")
    assert "\n1. Vermindering gebruik grondstoffen;\n2. Substitutie;" in circulaire.pages[1].text


def test_aanhangsel_footer_and_ids_go_to_the_sidebar() -> None:
    extraction = extract_pdf(AANHANGSEL)
    assert extraction.sidebar.splitlines() == [
        "ah-tk-20232024-2210",
        "ISSN 0921 - 7398",
        "Tweede Kamer, vergaderjaar 2023–2024, Aanhangsel",
    ]
    text = extraction.text
    assert "ISSN" not in text and "Gravenhage" not in text and "vergaderjaar 2023–2024, Aanhangsel" not in text
    assert "heeft mijn ambtsvoorganger uw Kamer geïnformeerd dat" in text  # "geïnfor-" / "meerd"
    assert "stikstofproblematiek" in text
    assert "\n\nVraag 2 Welke lessen trekt u hieruit?" in text


def test_no_text_is_lost_against_pdftotext() -> None:
    """Words of the pdftotext reference (line-end hyphens joined) that our text and sidebar lack are
    only the running lines we drop; nothing is invented either."""
    for name in ("Kamerbrief_innovatie_missie", "BNC_Fiche"):
        ours = _words(extract_pdf(IENW / f"{name}.pdf", ocr=False))
        reference = _counts((CORPUS / f"reference_text/ienw_kamerbrieven_pdftextsplitter/{name}.txt").read_text())
        common = sum((ours & reference).values())
        assert common / sum(reference.values()) > 0.97, name
        assert common / sum(ours.values()) > 0.99, name


def _counts(text: str) -> collections.Counter[str]:
    text = re.sub(r"-\s*\n\s*", "", text)
    return collections.Counter(word.lower() for word in re.findall(r"[^\W\d_]{3,}", text))


def _words(extraction) -> collections.Counter[str]:
    return _counts(extraction.text + "\n" + extraction.sidebar)


def test_ocr_layer_of_a_woo_pdf_is_read_as_is() -> None:
    """The publisher's OCR layer places words without spaces; pdfplumber's own word grouping glues them
    ("Ergaat", "Weetjij"), the gaps between character positions do not."""
    extraction = extract_pdf(CORPUS / "pdf/woo_vws_testdossiers/woo4/181024.pdf")
    assert not any(page.ocr for page in extraction.pages)
    assert "5.1.2e" in extraction.text.split()
    assert "Er gaat weer een brief met de laatste stand van zaken over de nertsen" in extraction.text
    assert "Weet jij" in extraction.text
    words = set(extraction.text.split())
    assert not words & {"Ergaat", "Weetjij", "overde", "metje", "hetadvies"}


def test_characters_are_pdfplumbers() -> None:
    """The text layer is pdfplumber's `page.chars`, read from the objects they are made of."""
    with pdfplumber.open(IENW / "Kamerbrief_circulaire_economie.pdf") as pdf:
        page = pdf.pages[1]
        ours = [(c.text, c.x0, c.x1, c.top, c.bottom) for c in extract_pdf_module._chars(page)]
        theirs = [(c["text"], c["x0"], c["x1"], c["top"], c["bottom"]) for c in page.chars]
        bold = {c.text for c in extract_pdf_module._chars(page) if c.bold}
    assert len(ours) > 1000
    assert ours == theirs
    assert bold  # Verdana-Bold headings


def _pdf(content: str, cropbox: str = "") -> bytes:
    """A one-page A4 PDF with content stream `content` (Latin-1) and the fonts /R (Helvetica) and
    /B (Helvetica-Bold); `cropbox` ("0 0 350 842") sets a CropBox."""
    stream = content.encode("latin-1")
    crop = f" /CropBox [{cropbox}]" if cropbox else ""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]{crop} /Contents 4 0 R"
        " /Resources << /Font << /R 5 0 R /B 6 0 R >> >> >>",
        None,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        if body is None:
            out += f"{number} 0 obj\n<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream\nendobj\n"
        else:
            out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_words_from_character_positions(tmp_path: Path) -> None:
    """Words set one by one without spaces stay apart; a bold font name makes a bold heading; text
    turned sideways or outside the crop box is not read."""
    path = tmp_path / "brief.pdf"
    path.write_bytes(
        _pdf(
            "BT /B 11 Tf 72 760 Td (Kop van de brief) Tj ET\n"
            "BT /R 11 Tf 72 740 Td (Vragen) Tj 40 0 Td (van) Tj 22 0 Td (het) Tj 20 0 Td (lid) Tj ET\n"
            "BT /R 11 Tf 72 726 Td (over de gevolgen van het besluit.) Tj ET\n"
            "BT /R 11 Tf 0 1 -1 0 40 400 Tm (Gedraaide kantlijn) Tj ET\n"
            "BT /R 11 Tf 400 600 Td (Buiten het snijkader) Tj ET\n",
            cropbox="0 0 350 842",
        )
    )
    [page] = extract_pdf_module._text_layers(path)
    assert (page.width, page.height) == (350, 842)
    assert [(w.text, w.bold) for w in page.words[:5]] == [("Kop", True), ("van", True), ("de", True), ("brief", True), ("Vragen", False)]
    assert extract_pdf(path, ocr=False).text == "Kop van de brief\n\nVragen van het lid over de gevolgen van het besluit."


def test_actual_text_of_marked_content(tmp_path: Path) -> None:
    """InDesign's soft hyphens are glyphs in a span with ActualText U+00AD: a space backed over inside
    a line, a "-" at a line end. Both join the word; an en space marked up the same way stays a space."""
    path = tmp_path / "indesign.pdf"
    path.write_bytes(
        _pdf(
            "BT /R 11 Tf 72 740 Td (Het kabinet wil samenwerken met kennis) Tj"
            " /Span <</ActualText <FEFF00AD>>> BDC [( ) 278] TJ EMC (instellingen en) Tj ET\n"
            "BT /R 11 Tf 72 726 Td (bedrijven voor de Klimaatstrategie) Tj"
            " /Span <</ActualText <FEFF2002>>> BDC ( ) Tj EMC (2022 en ontwikkelings) Tj"
            " /Span <</ActualText <FEFF00AD>>> BDC (-) Tj EMC ET\n"
            "BT /R 11 Tf 72 712 Td (samenwerking in armere landen.) Tj ET\n"
        )
    )
    assert extract_pdf(path, ocr=False).text == (
        "Het kabinet wil samenwerken met kennisinstellingen en bedrijven voor de Klimaatstrategie 2022 en "
        "ontwikkelingssamenwerking in armere landen."
    )


def test_errors_name_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="encrypted PDF"):
        extract_pdf(FIXTURES / "encrypted.pdf")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(AANHANGSEL.read_bytes()[:4000])
    with pytest.raises(ExtractError, match="damaged or not a PDF"):
        extract_pdf(truncated)
    letter = tmp_path / "brief.pdf"
    shutil.copy(SEEDS / "brief-financien-2022-04-13.txt", letter)
    with pytest.raises(ExtractError, match="damaged or not a PDF"):
        extract_pdf(letter)
    no_pages = tmp_path / "no_pages.pdf"
    pdfium.PdfDocument.new().save(no_pages)
    with pytest.raises(ExtractError, match="PDF has no pages"):
        extract_pdf(no_pages)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ExtractError, match="empty file"):
        extract_pdf(empty)
    with pytest.raises(ExtractError, match="no text layer on 10 of 10 pages and OCR is off"):
        extract_pdf(SCAN, ocr=False)


@pytest.mark.slow
def test_ocr_of_one_scanned_page(tmp_path: Path) -> None:
    """The first page of the image-only Woo-besluit; about 5 s of Tesseract on an idle core."""
    page_one = tmp_path / "page1.pdf"
    document = pdfium.PdfDocument.new()
    document.import_pages(pdfium.PdfDocument(SCAN), [0])
    document.save(page_one)
    extraction = extract_pdf(page_one)
    assert [page.ocr for page in extraction.pages] == [True]
    text = extraction.text
    assert "Geachte mevrouw, heer," in text
    assert "Het ministerie van Volksgezondheid, Welzijn en Sport (hierna: mijn ministerie)" in text
    assert "Ons kenmerk 3415155-1033464-PDO" in extraction.sidebar.splitlines()
    assert "Inlichtingen" not in text and "Retouradres" not in text
