"""Text files (.txt, .md) to cleaned pages and sidebar: decoding, page breaks, colophon, page furniture.

Plain-text letters are mostly earlier extractions of PDFs, so they carry the same clutter as a PDF
without the positions to find it by: a colophon flattened into the head of the text, repeated as a
page header further down, Kamerstuk footers and page numbers. The rules are `indexer/clean.py`'s.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

import charset_normalizer

from indexer import clean
from indexer.errors import ExtractError
from indexer.records import Extraction, Page

ENCODINGS = ["cp1252", "latin_1", "iso8859_15", "utf_16", "utf_16_le", "utf_16_be"]
"""What charset-normalizer may choose from when a file is not UTF-8: left free, it reads short Dutch
cp1252 text as cp1250 or cp1006 and turns "è" into "č"."""
MAX_CONTROL_SHARE = 0.05
"""Above this share of control characters the file is binary, whatever it decoded as."""
HEAD_LINES = 60
"""A letter's colophon and salutation stand within its first lines."""
EDGE_LINES = 3
"""Lines at the top and at the bottom of a page that may be running headers or footers."""
_MOJIBAKE = re.compile(r"Ã[\u0080-\u00bf]|â€[\u0080-\u00bf™œ˜“”]|Â[\u00a0-\u00bf]")
_PAGE_MARK = re.compile(r"\s*P ?a ?g ?i ?n ?a [\dIl]{1,3} van \d{1,3}\s*$")
"""A "Pagina 2 van 6" that an extraction glued to the end of the page's last paragraph."""
_SALUTATION = re.compile(r"^\s*(?:Geachte|Hooggeachte|Zeer geachte|Beste|Dear|L\.S\.)\b")
_COLUMN_GAP = re.compile(r"[ \t]{3,}")


def extract_text(path: Path) -> Extraction:
    """Return the text file's cleaned pages (split at form feeds) and the colophon lines taken out of it.

    Raises ExtractError for an empty or binary file (NUL bytes, control characters) or an undecodable one.
    """
    text = decode(path.read_bytes())
    text = clean.normalize(text).replace("**", "")
    pages = [[_PAGE_MARK.sub("", line) for line in page.split("\n")] for page in text.split("\f")]
    pages, sidebar = _remove_colophon(pages)
    pages, kept, furniture = _remove_furniture(pages)
    bodies = ["\n".join(lines) for lines in pages]
    vocabulary = clean.Vocabulary("\n".join(bodies))
    cleaned = [Page(n, clean.clean_page(body, vocabulary)) for n, body in enumerate(bodies, start=1)]
    if not any(page.text for page in cleaned):
        raise ExtractError("no text: the file holds only white space or page furniture")
    return Extraction(pages=cleaned, sidebar="\n".join(clean.unique_lines(sidebar + kept)), furniture=furniture)


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or a Western single-byte encoding.

    Text that was UTF-8 read as cp1252 and saved again ("FinanciÃ«n") is repaired when that removes
    the garbling. Raises ExtractError for empty or binary content.
    """
    if not data.strip():
        raise ExtractError("empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if b"\x00" in data:
                raise ExtractError("binary file: NUL bytes and not UTF-8 or UTF-16 text") from None
            guess = charset_normalizer.from_bytes(data, cp_isolation=ENCODINGS).best()
            if guess is None:
                raise ExtractError("binary file: no text encoding fits its bytes") from None
            text = str(guess)
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    if "\x00" in text or controls > MAX_CONTROL_SHARE * len(text):
        raise ExtractError(f"binary file: {controls} control characters in {len(text)}")
    return _repair_mojibake(text)


def _repair_mojibake(text: str) -> str:
    """Undo one round of UTF-8-read-as-cp1252 where that clearly helps."""
    garbled = len(_MOJIBAKE.findall(text))
    if not garbled:
        return text
    try:
        repaired = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return repaired if len(_MOJIBAKE.findall(repaired)) < garbled else text


def _blocks(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _segments(line: str) -> list[str]:
    """A flattened line's columns ("Onze referentie      37658370" → two), or the line itself."""
    return [part.strip() for part in _COLUMN_GAP.split(line) if part.strip()]


def _head_end(lines: list[str]) -> int | None:
    """Where a letter's head ends: its salutation, else its first line of prose (eight real words
    before any column gap) when at least two colophon labels stand above that; None for a text that
    does not start like a letter."""
    for i, line in enumerate(lines[:HEAD_LINES]):
        if _SALUTATION.match(line):
            return i
    labels = 0
    for i, line in enumerate(lines[:HEAD_LINES]):
        if len(re.findall(r"[^\W\d_]{3,}", (_segments(line) or [""])[0])) >= 8:
            return i if labels >= 2 else None
        labels += sum(1 for segment in _segments(line) if clean.sidebar_label(segment))
    return None


def _remove_colophon(pages: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Move a letter's colophon from its head into the sidebar, and drop its repeats further down.

    Above the head's end (`_head_end`), each blank-line block that holds a colophon line (label,
    sending unit, address, phone, www) goes to the sidebar, its flattened columns split apart; the
    addressee block stays. Further down, a block made only of colophon lines already seen is a page
    header repeating the sidebar (the Financiën letter prints "Directie …/Ons kenmerk …" on every
    page) and is dropped, as is a kenmerk with its value inside a line, where a flattened two-column
    page header ran into the body ("… theatervoorstelling De   Onze referentie   41059776 Vergeten …").
    """
    first = pages[0]
    end = _head_end(first)
    if end is None:
        return pages, []
    head_blocks: list[list[str]] = []
    kept_head: list[str] = []
    waiting = False
    for block in _blocks(first[:end]):
        segments = [segment for line in block for segment in _segments(line)]
        if waiting or any(clean.is_colophon_line(segment) for segment in segments):
            head_blocks.append(segments)
            waiting = bool(clean.sidebar_label(segments[-1])) and len(segments[-1].split()) <= 3
        else:
            kept_head += block + [""]
    opening = _segments(first[end]) or [""]
    if _SALUTATION.match(first[end]):
        head_blocks.append(opening[1:])
        opening = opening[:1]
    else:
        opening = [first[end]]
    fields = clean.colophon_fields(head_blocks)
    known = {clean.line_key(segment) for block in head_blocks for segment in block}
    repeats = _inline_repeats(fields)
    pages = [kept_head + opening + first[end + 1 :]] + pages[1:]
    return [_drop_repeats(page, known, repeats) for page in pages], fields


_REPEATED_LABELS = frozenset({"onskenmerk", "onzereferentie", "onzeref.", "kenmerk", "uwkenmerk", "uwreferentie"})
"""Labels (spaces removed, lower case) whose field a flattened page header repeats inside body lines."""


def _inline_repeats(fields: list[str]) -> re.Pattern[str] | None:
    """A pattern for the colophon's kenmerk labels with their values as they recur inside body lines.

    The value is the one the head printed where it stood next to its label, else any kenmerk-like run
    of tokens with a digit in it (a stacked head prints "Onze referentie" and "38288319" apart).
    """
    alternatives = []
    for field in fields:
        label = clean.sidebar_label(field)
        if not label or re.sub(r"\s", "", label).lower() not in _REPEATED_LABELS:
            continue
        spaced = r"\s?".join(re.escape(c) for c in label.replace(" ", ""))
        value = field[len(label) :].split()
        if value:
            alternatives.append(spaced + r"\s+" + r"\s*".join(re.escape(token) for token in value))
        alternatives.append(spaced + r"\s+(?=[\w/. -]{0,12}\d)(?:[A-Z0-9][\w/.-]*\s?){1,4}")
    return re.compile("|".join(alternatives)) if alternatives else None


def _drop_repeats(lines: list[str], known: set[str], repeats: re.Pattern[str] | None) -> list[str]:
    """The page without blocks that only repeat the colophon, and without kenmerk repeats inside lines."""
    kept: list[str] = []
    for block in _blocks(lines):
        segments = [segment for line in block for segment in _segments(line)]
        repeat = all(
            clean.line_key(segment) in known or clean.is_colophon_line(segment) for segment in segments
        ) and any(clean.line_key(segment) in known for segment in segments)
        if repeat:
            continue
        if repeats is not None:
            block = [line for line in (repeats.sub(" ", line) for line in block) if line.strip()]
        kept += block + [""]
    return kept


def _edges(lines: list[str]) -> set[int]:
    """Indexes of the lines where running headers, footers and page numbers stand: the first and last
    non-blank lines of the page, and the lines next to a publication footer (a page break that lost
    its form feed)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])
    for position, i in enumerate(filled):
        if clean.furniture(lines[i])[0]:
            edges.update(filled[max(0, position - 2) : position + 3])
    return edges


def _remove_furniture(pages: list[list[str]]) -> tuple[list[list[str]], list[str], list[str]]:
    """Drop publication footers anywhere, and running lines and page numbers at page edges (`_edges`).

    Returns the pages, the metadata kept from footers (Kamerstuk footer, kst-/ah-tk- id, ISSN) and the
    dropped running lines that name an identifier (`clean.identifier_lines`).
    """
    edges = [_edges(lines) for lines in pages]
    running = clean.recurring([[lines[i] for i in at] for lines, at in zip(pages, edges)])
    kept: list[str] = []
    dropped: list[str] = []
    result: list[list[str]] = []
    for lines, at_edge in zip(pages, edges):
        body: list[str] = []
        for i, line in enumerate(lines):
            is_footer, keep = clean.furniture(line)
            if is_footer:
                kept += [keep] if keep else []
            elif i in at_edge and line.strip() and (clean.is_page_number(line) or clean.line_key(line) in running):
                dropped.append(line)
            else:
                body.append(line)
        result.append(body)
    return result, kept, clean.identifier_lines(dropped)
