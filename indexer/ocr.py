"""Dutch OCR of single PDF pages with Tesseract, as positioned words.

The page is rendered with pypdfium2 at 300 dpi and piped to the `tesseract` command as a greyscale
PGM; its TSV output gives words with boxes, so OCR'd pages go through the same layout pass
(`indexer/layout.py`) as text-layer pages: a scanned letter loses its sidebar and footers too.
ocrmypdf was not used: it writes a new PDF (Ghostscript, PDF/A) that would have to be parsed again,
costs seconds per document beyond Tesseract itself, and has no per-page time limit.
Tesseract runs single-threaded (OMP_THREAD_LIMIT=1): its OpenMP threads made one page take 20 s
instead of 5 s on a busy two-core machine, and callers parallelise over documents instead.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess

import pypdfium2 as pdfium

from indexer.errors import ExtractError
from indexer.layout import PageWords, Word

DPI = 300
"""Scans of letters are often 150 dpi; upsampling to 300 lets Tesseract read the 7 pt sidebar text."""
LANGUAGE = "nld"
PAGE_TIMEOUT = 90.0
"""Seconds one page may take; a page that runs over yields no text rather than stalling the document."""
MIN_CONFIDENCE = 20.0
"""Tesseract's per-word confidence below which a "word" is mostly a speck, a logo or a redaction box."""


def ocr_page(page: pdfium.PdfPage, *, timeout: float = PAGE_TIMEOUT) -> PageWords | None:
    """Return the page's words as Tesseract reads them (PDF points, top-left origin), or None on time-out.

    Raises ExtractError when Tesseract or its Dutch language data is not installed.
    """
    image = page.render(scale=DPI / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")
    command = ["tesseract", "stdin", "stdout", "-l", LANGUAGE, "--dpi", str(DPI), "--psm", "3", "tsv"]
    try:
        result = subprocess.run(
            command,
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except FileNotFoundError as error:
        raise ExtractError("page needs OCR but tesseract is not installed (apt install tesseract-ocr-nld)") from error
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExtractError(f"tesseract failed: {message[-1] if message else f'exit code {result.returncode}'}")
    scale = 72 / DPI
    width, height = page.get_size()
    return PageWords(_words(result.stdout.decode("utf-8", "replace"), scale), width, height)


def _words(tsv: str, scale: float) -> list[Word]:
    """Word rows (level 5) of Tesseract's TSV as Words; Tesseract's own line number becomes the row."""
    words: list[Word] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row["level"] != "5" or not text or float(row["conf"]) < MIN_CONFIDENCE:
            continue
        left, top, width, height = (int(row[key]) for key in ("left", "top", "width", "height"))
        line = int(row["block_num"]) * 10**6 + int(row["par_num"]) * 10**3 + int(row["line_num"])
        words.append(Word(text, left * scale, (left + width) * scale, top * scale, (top + height) * scale, row=line))
    return words
