"""PDF to cleaned pages and sidebar: pdfplumber characters with positions, OCR where the text layer fails.

The text layer is read with pdfplumber page by page, from the pdfminer `LTChar`s behind its
`page.chars` (building that list's dictionaries took 60 % of the time), with marked-content
ActualText honoured. pypdfium2, pdfplumber's own renderer, opens the file for image coverage and
renders pages for OCR. `bench/pdf_chars.py` compares this reader with one on pypdfium2's
characters: 141 ms of CPU per page against 45, with the same word recall. Layout (columns,
sidebar, running lines, paragraphs) is `indexer/layout.py`; character and line rules are
`indexer/clean.py`.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfminer.layout import LTChar, LTContainer, LTPage
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter
from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream, resolve1
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text
from pdfplumber.page import PDFPageAggregatorWithMarkedContent
from pdfplumber.utils.exceptions import PdfminerException

from indexer import clean
from indexer.errors import ExtractError
from indexer.layout import Char, PageWords, lay_out, words_from_chars
from indexer.ocr import PAGE_TIMEOUT, ocr_page
from indexer.records import Extraction, Page

__all__ = ["ExtractError", "extract_pdf"]

MIN_LETTERS = 20
"""A page with fewer letters in its text layer than this has no usable text (a scan, a stamp)."""
FULL_PAGE_IMAGE = 0.8
"""Share of the page an image must cover to count as a scan."""
MAX_PAGE_CONTENT_BYTES = 64 * 2**20
"""A page whose content streams unpack to more than this is refused before pdfminer reads it: a
decompression bomb (a 1 MB stream of deflated zeros unpacks to 1 GB) would otherwise hold a worker
at gigabytes for the whole time limit. The largest page of the shared corpus unpacks to 117 KiB;
64 MiB is far above any page of text and costs well under a second to unpack and count."""
_VOWELS = set("aeiouyàáâäèéêëìíîïòóôöùúûü")
_BOLD = re.compile(r"bold|black|heavy|demi", re.IGNORECASE)
"""Font names of bold weights: "-Bold", "-BoldItalic", "-BoldMT", ",Semibold", "-Black", "-Heavy", "-Demi"."""


def extract_pdf(path: Path, *, ocr: bool = True, ocr_timeout: float = PAGE_TIMEOUT) -> Extraction:
    """Return the PDF's cleaned pages and its colophon (sidebar); raise ExtractError if it gives no text.

    Pages without a usable text layer are OCR'd (Dutch) when `ocr` is true and marked `Page.ocr`.
    ExtractError names the reason: encrypted, damaged or not a PDF, no pages, or no text on any page.
    """
    if path.stat().st_size == 0:
        raise ExtractError("empty file (0 bytes)")
    layer = _text_layers(path)
    document = _open(path)
    try:
        pages = [document[i] for i in range(len(document))]
        # pdfium decides the page count: a page pdfminer did not find is left to OCR
        layer = [layer[i] if i < len(layer) else PageWords([], *page.get_size()) for i, page in enumerate(pages)]
        scanned = [_needs_ocr(words, page) for words, page in zip(layer, pages)]
        if any(scanned) and any(_scan_with_text(words, page) for words, page in zip(layer, pages)):
            scanned = [unread and not _covered_by_image(page) for unread, page in zip(scanned, pages)]
        from_ocr = [False] * len(pages)
        timed_out = 0
        for i in (i for i, unread in enumerate(scanned) if unread and ocr):
            words = ocr_page(pages[i], timeout=ocr_timeout)
            if words is None:
                timed_out += 1
            else:
                layer[i], from_ocr[i] = words, True
        layout = lay_out(layer)
    finally:
        document.close()
    vocabulary = clean.Vocabulary(clean.normalize("\n".join(layout.pages)))
    cleaned = [
        Page(number, clean.clean_page(text, vocabulary), ocr=used_ocr)
        for number, (text, used_ocr) in enumerate(zip(layout.pages, from_ocr), start=1)
    ]
    if not any(page.text for page in cleaned):
        raise ExtractError(_no_text_reason(len(pages), sum(scanned), ocr, timed_out, ocr_timeout))
    return Extraction(
        pages=cleaned,
        sidebar="\n".join(clean.normalize(line) for line in layout.sidebar),
        furniture=[clean.normalize(line) for line in layout.furniture],
    )


def _open(path: Path) -> pdfium.PdfDocument:
    """Open the PDF with pypdfium2, for image coverage and OCR, or raise ExtractError saying why not."""
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        message = str(error)
        if "password" in message.lower():
            raise ExtractError("encrypted PDF: a password is required to open it") from error
        if "format" in message.lower():
            raise ExtractError(f"damaged or not a PDF: {message}") from error
        raise ExtractError(f"cannot open PDF: {message}") from error
    if len(document) == 0:
        document.close()
        raise ExtractError("PDF has no pages")
    return document


def _text_layers(path: Path) -> list[PageWords]:
    """Every page's text layer as words, read with pdfplumber page by page.

    Raises ExtractError when pdfplumber cannot open the file: encrypted, damaged or not a PDF, no pages.
    A page whose content pdfminer cannot interpret gets no words, so it is OCR'd like a scan.
    """
    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as error:
        raise ExtractError(_open_error(error)) from error
    with pdf:
        try:
            pages = pdf.pages
        except PdfminerException as error:
            raise ExtractError(_open_error(error)) from error
        if not pages:
            raise ExtractError("PDF has no pages")
        for page in pages:
            _check_content_size(page)
        return [_page_words(page) for page in pages]


def _check_content_size(page: pdfplumber.page.Page) -> None:
    """Raise ExtractError if the page's Flate-compressed content unpacks past MAX_PAGE_CONTENT_BYTES,
    counted in chunks so that a bomb is never unpacked whole."""
    contents = page.page_obj.contents
    unpacked = 0
    for stream in (resolve1(item) for item in (contents if isinstance(contents, list) else [contents])):
        if not isinstance(stream, PDFStream) or stream.rawdata is None or stream.decipher:
            continue  # already decoded, or encrypted: pdfminer decrypts before it unpacks
        filters = [f for f, _ in stream.get_filters()]
        if not filters or filters[0] not in LITERALS_FLATE_DECODE:
            continue
        unpacker, data = zlib.decompressobj(), stream.rawdata
        try:
            while data and unpacked <= MAX_PAGE_CONTENT_BYTES:
                unpacked += len(unpacker.decompress(data, 2**20))
                data = unpacker.unconsumed_tail
        except zlib.error:
            continue  # damaged: pdfminer reports it (and the page gets OCR) as before
        if unpacked > MAX_PAGE_CONTENT_BYTES:
            raise ExtractError(
                f"page {page.page_number}'s content unpacks to more than {MAX_PAGE_CONTENT_BYTES // 2**20} MiB "
                f"({len(stream.rawdata) / 2**20:.1f} MiB compressed): a decompression bomb; not read"
            )


def _open_error(error: PdfminerException) -> str:
    """A reason for pdfplumber's failure to open a file (it wraps pdfminer's exception)."""
    cause = error.args[0] if error.args else error
    message = str(cause) or type(cause).__name__
    if isinstance(cause, PDFPasswordIncorrect):
        return "encrypted PDF: a password is required to open it"
    if isinstance(cause, PDFEncryptionError):
        return f"encrypted PDF: {message}"
    return f"damaged or not a PDF: {message}"


def _page_words(page: pdfplumber.page.Page) -> PageWords:
    """One page's words, formed from pdfplumber's character positions by `words_from_chars`."""
    left, crop_top, right, crop_bottom = page.cropbox
    try:
        chars = _chars(page)
    except PdfminerException:
        chars = []
    finally:
        page.close()
    return PageWords(words_from_chars(chars), right - left, crop_bottom - crop_top)


def _chars(page: pdfplumber.page.Page) -> list[Char]:
    """The page's characters as pdfplumber's `page.chars` has them, with a baseline and a weight;
    glyphs outside the crop box, turned more than 3 degrees, or without a Unicode mapping ("(cid:12)")
    are skipped.

    They are read from the pdfminer `LTChar`s that `page.chars` is made from, with the same
    coordinates (top-left origin, shifted as pdfplumber shifts them for a MediaBox not at 0,0):
    building `page.chars`'s dictionary of 20 keys per character took 60 % of the time. The baseline
    is the text matrix's origin; a font is bold when its name says so ("Verdana-Bold", "Univers-Black",
    "Arial,Semibold"). Where a marked-content span carries ActualText, that is the text
    (`_ActualTextDevice`).
    """
    left, crop_top, right, crop_bottom = page.cropbox
    shift_x, shift_y = page.mediabox[0], page.height + page.mediabox[1]
    bold: dict[str, bool] = {}
    chars: list[Char] = []
    for char in _layout_chars(_layout(page)):
        a, b, _, _, _, origin_y = char.matrix
        if not char.upright or abs(b) > 0.05 * abs(a):  # rotated or skewed more than 3 degrees
            continue
        actual = getattr(char, "actual_text", None)
        text = char.get_text() if actual is None else actual
        if not text or text.startswith("(cid:"):
            continue
        x0, x1 = char.x0 + shift_x, char.x1 + shift_x
        top, bottom = shift_y - char.y1, shift_y - char.y0
        if not (left <= (x0 + x1) / 2 <= right and crop_top <= (top + bottom) / 2 <= crop_bottom):
            continue
        font = char.fontname
        if font not in bold:
            bold[font] = bool(_BOLD.search(font.partition("+")[2] or font))
        chars.append(
            Char(text, x0 - left, x1 - left, top - crop_top, bottom - crop_top, shift_y - origin_y - crop_top, bold[font])
        )
    return chars


def _layout(page: pdfplumber.page.Page) -> LTPage:
    """`page.layout`, made by the same interpreter and marked-content device, but noting ActualText."""
    device = _ActualTextDevice(page.pdf.rsrcmgr, pageno=page.page_number, laparams=page.pdf.laparams)
    try:
        PDFPageInterpreter(page.pdf.rsrcmgr, device).process_page(page.page_obj)
    except Exception as error:  # as pdfplumber's Page.layout wraps them
        raise PdfminerException(error) from error
    return device.get_result()


class _ActualTextDevice(PDFPageAggregatorWithMarkedContent):
    """pdfplumber's layout device, also giving each character the ActualText of its marked-content span.

    InDesign sets a discretionary hyphen inside a line as a space glyph in a span with ActualText
    U+00AD, and the hyphen of a word broken at a line end as "-" with the same ActualText; pdfminer
    draws the glyphs only, so "adaptatie\u00adplannen" read as "adaptatiep lannen" (the space's box
    sorts after the next letter). A span's ActualText becomes the text of its first glyph, its other
    glyphs go; an ActualText of only white space or control characters (InDesign marks en spaces and
    tabs that way) leaves the glyphs as they are. `clean.normalize` then joins at a soft hyphen.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.spans: list[list[str | bool] | None] = []
        """Per open marked-content span: [ActualText, whether a glyph has taken it], or None."""

    def begin_tag(self, tag: PSLiteral, props: object = None) -> None:
        super().begin_tag(tag, props)
        actual = props.get("ActualText") if isinstance(props, dict) else None
        text = decode_text(actual) if isinstance(actual, bytes) else actual if isinstance(actual, str) else None
        meaningful = text is not None and any(not c.isspace() and unicodedata.category(c) != "Cc" for c in text)
        self.spans.append([text, False] if meaningful else None)

    def end_tag(self) -> None:
        super().end_tag()
        if self.spans:
            self.spans.pop()

    def render_char(self, *args: object, **kwargs: object) -> float:
        advance = super().render_char(*args, **kwargs)
        char = self.cur_item._objs[-1]
        span = next((span for span in self.spans if span is not None), None)
        if span is None:
            char.actual_text = None
        else:
            char.actual_text = "" if span[1] else span[0]
            span[1] = True
        return advance


def _layout_chars(container: LTContainer) -> Iterator[LTChar]:
    """The characters in a pdfminer layout tree, Form XObjects (`LTFigure`) included, in stream order."""
    for item in container:
        if isinstance(item, LTChar):
            yield item
        elif isinstance(item, LTContainer):
            yield from _layout_chars(item)


def _letters(words: PageWords) -> str:
    return "".join(c for word in words.words for c in word.text if c.isalpha())


def _needs_ocr(words: PageWords, page: pdfium.PdfPage) -> bool:
    """Whether the text layer is missing or garbage (too few letters, or "words" without vowels)."""
    letters = _letters(words)
    if len(letters) < MIN_LETTERS:
        return _has_objects(page)
    alphabetic = [word.text for word in words.words if re.fullmatch(r"[^\W\d_]{2,}", word.text)]
    voiced = sum(1 for word in alphabetic if _VOWELS & set(word.lower()))
    return bool(alphabetic) and voiced < 0.5 * len(alphabetic)


def _has_objects(page: pdfium.PdfPage) -> bool:
    return pdfium_c.FPDFPage_CountObjects(page) > 0


def _covered_by_image(page: pdfium.PdfPage) -> bool:
    """Whether images cover most of the page: a scan (often stored as a stack of strips)."""
    width, height = page.get_size()
    covered = 0.0
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = image.get_bounds()
        covered += (right - left) * (top - bottom)
    return covered >= FULL_PAGE_IMAGE * width * height


def _scan_with_text(words: PageWords, page: pdfium.PdfPage) -> bool:
    """A scanned page that already carries an OCR text layer: the publisher ran OCR on the whole file,
    so its near-empty pages are blank, not unread."""
    return len(_letters(words)) >= MIN_LETTERS and _covered_by_image(page)


def _no_text_reason(pages: int, scanned: int, ocr: bool, timed_out: int, timeout: float) -> str:
    if scanned and not ocr:
        return f"no text layer on {scanned} of {pages} pages and OCR is off"
    if timed_out:
        return f"no text found; OCR timed out (> {timeout:.0f} s) on {timed_out} of {pages} pages"
    return f"no text found on any of {pages} pages, OCR included"
