"""PDF to cleaned pages and sidebar: pypdfium2 characters with positions, OCR where the text layer fails.

Characters come from pypdfium2 rather than pdfplumber: on this corpus pdfplumber took 165 ms per page
for its characters alone (313 ms for words), while reading characters with loose boxes, baselines and
weights here and laying out and cleaning the page takes about 36 ms of CPU; and pdfplumber glued
words together in OCR'd Woo PDFs whose text layers place words without space characters
("Vragenvan", "hetde"). Layout (columns, sidebar, running lines,
paragraphs) is `indexer/layout.py`; character and line rules are `indexer/clean.py`.
"""

from __future__ import annotations

import ctypes
import math
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

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
_VOWELS = set("aeiouyàáâäèéêëìíîïòóôöùúûü")


def extract_pdf(path: Path, *, ocr: bool = True, ocr_timeout: float = PAGE_TIMEOUT) -> Extraction:
    """Return the PDF's cleaned pages and its colophon (sidebar); raise ExtractError if it gives no text.

    Pages without a usable text layer are OCR'd (Dutch) when `ocr` is true and marked `Page.ocr`.
    ExtractError names the reason: encrypted, damaged or not a PDF, no pages, or no text on any page.
    """
    document = _open(path)
    try:
        pages = [document[i] for i in range(len(document))]
        layer = [_text_layer(page) for page in pages]
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
    return Extraction(pages=cleaned, sidebar="\n".join(clean.normalize(line) for line in layout.sidebar))


def _open(path: Path) -> pdfium.PdfDocument:
    """Open the PDF or raise ExtractError saying why not."""
    if path.stat().st_size == 0:
        raise ExtractError("empty file (0 bytes)")
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


def _text_layer(page: pdfium.PdfPage) -> PageWords:
    """The page's text layer as words; characters outside the crop box or not set horizontally are skipped.

    Per character only the loose box and the baseline origin are asked of pdfium; the text comes in one
    call, and the rotation and font weight only where a new line or word starts (they rarely change
    inside a word), which halves the time spent in ctypes calls.
    """
    left, bottom, right, top = page.get_bbox()
    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the Basic Multilingual Plane: ask one by one
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    box = pdfium_c.FS_RECTF()
    x, y = ctypes.c_double(), ctypes.c_double()
    chars: list[Char] = []
    bold = skew = False
    previous_y: float | None = None
    word_start = True
    for i, char in enumerate(text):
        if char in "\r\n":
            word_start = True
            continue
        if char == " ":
            word_start = True
            if pdfium_c.FPDFText_IsGenerated(textpage, i):
                continue
        pdfium_c.FPDFText_GetCharOrigin(textpage, i, x, y)
        if y.value != previous_y:
            angle = pdfium_c.FPDFText_GetCharAngle(textpage, i)
            skew = 0.05 < angle < 2 * math.pi - 0.05
            previous_y, word_start = y.value, True
        if skew:
            continue
        if word_start:
            bold = pdfium_c.FPDFText_GetFontWeight(textpage, i) >= 600
            word_start = False
        pdfium_c.FPDFText_GetLooseCharBox(textpage, i, box)
        if not (left <= (box.left + box.right) / 2 <= right and bottom <= (box.top + box.bottom) / 2 <= top):
            continue
        chars.append(
            Char(
                "-" if char in "\x02\ufffe" else char,  # pdfium's mark for a hyphen at a line end
                box.left - left,
                box.right - left,
                top - box.top,
                top - box.bottom,
                top - y.value,
                bold,
            )
        )
    textpage.close()
    return PageWords(words_from_chars(chars), right - left, top - bottom)


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
