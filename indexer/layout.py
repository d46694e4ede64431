"""Page layout from positioned words: words, lines, the colophon column, page zones, paragraphs.

The same code reads a text layer (characters from pdfplumber) and an OCR result (words from
Tesseract), so a scanned Rijkshuisstijl letter loses its sidebar and footers the way a born-digital
one does. Coordinates are PDF points with the origin at the top left of the page.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from indexer import clean


class Char(NamedTuple):
    """A text-layer glyph (a named tuple: pages hold thousands, so it must be cheap to make)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    base: float
    """Baseline: characters of one line share it even where their boxes differ."""
    bold: bool = False


@dataclass
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    bold: bool = False
    row: float = 0.0
    """Words with the same `row` sit on one baseline; lines never mix rows."""

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class PageWords:
    """One page's words and size, from the text layer or from OCR."""

    words: list[Word]
    width: float
    height: float


@dataclass
class Line:
    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(word.x1 for word in self.words)

    @property
    def top(self) -> float:
        return min(word.top for word in self.words)

    @property
    def bottom(self) -> float:
        return max(word.bottom for word in self.words)

    @property
    def height(self) -> float:
        return statistics.median(word.height for word in self.words)

    @property
    def bold(self) -> bool:
        return all(word.bold for word in self.words)


# --- characters to words -----------------------------------------------------------------------


def _same_row(anchor: Char, c: Char) -> bool:
    """Same baseline, or boxes that mostly overlap: OCR layers give each word its own baseline."""
    height = min(anchor.bottom - anchor.top, c.bottom - c.top)
    overlap = min(anchor.bottom, c.bottom) - max(anchor.top, c.top)
    return abs(c.base - anchor.base) <= 0.2 * max(anchor.bottom - anchor.top, c.bottom - c.top) or overlap >= 0.6 * height


def _rows(chars: list[Char]) -> list[list[Char]]:
    """Group characters into visual rows by their baseline, then fold raised or lowered marks into their row.

    Baselines separate tightly set lines whose loose glyph boxes overlap a little; a footnote mark
    sits on its own baseline, so a small row that lies mostly inside a taller row's band joins it.
    """
    rows: list[list[Char]] = []
    for c in sorted(chars, key=lambda c: c.base):
        if rows and _same_row(rows[-1][0], c):
            rows[-1].append(c)
        else:
            rows.append([c])
    bands = [(min(c.top for c in row), max(c.bottom for c in row)) for row in rows]
    heights = [bottom - top for top, bottom in bands]
    merged: list[list[Char]] = [[] for _ in rows]
    for i, row in enumerate(rows):
        target = i
        if len(row) <= 4:
            for j in (i - 1, i + 1):
                if 0 <= j < len(rows) and heights[j] > heights[i]:
                    overlap = min(bands[i][1], bands[j][1]) - max(bands[i][0], bands[j][0])
                    if overlap > 0.5 * heights[i]:
                        target = j
                        break
        merged[target].extend(row)
    return [row for row in merged if row]


def words_from_chars(chars: Iterable[Char]) -> list[Word]:
    """Build words from a text layer's characters, in reading order (rows top-down, left to right).

    Spaces in the layer split words; so does a gap of half a space width between glyphs, since many
    layers (InDesign, OCR) place words without any space character. Kerned pairs and ligatures
    ("ft" as one glyph reported twice) have gaps near zero or negative and stay together; a raised
    footnote mark ("grondstoffen¹") becomes a word of its own.
    """
    chars = [c for c in chars if c.bottom > c.top]
    words: list[Word] = []
    for number, row in enumerate(_rows(chars)):
        row.sort(key=lambda c: c.x0)
        spaces = [c.x1 - c.x0 for c in row if c.text.isspace() and c.x1 > c.x0]
        heights = [c.bottom - c.top for c in row if not c.text.isspace()]
        if not heights:
            continue
        space = statistics.median(spaces) if spaces else 0.25 * statistics.median(heights)
        current: Word | None = None
        last = row[0]
        for c in row:
            if c.text.isspace():
                current = None
                continue
            if (
                current is not None
                and c.x0 >= last.x0 - 0.5
                and c.x0 - current.x1 < 0.5 * space
                and (abs(c.base - last.base) < 0.15 * (c.bottom - c.top) or not c.text.isalnum())
            ):
                current.text += c.text
                current.x1 = max(current.x1, c.x1)
                current.top, current.bottom = min(current.top, c.top), max(current.bottom, c.bottom)
                current.bold = current.bold and c.bold
            else:
                current = Word(c.text, c.x0, c.x1, c.top, c.bottom, c.bold, number)
                words.append(current)
            last = c
    return words


# --- words to lines in reading order -----------------------------------------------------------

MIN_COLUMN_WIDTH = 60.0
"""Points; narrower strips beside a gap are labels or table cells, not a column to read on its own."""
ROW_GAP_TOLERANCE = 0.5
"""Points; row gaps this close to the widest are cut together."""


def _gaps(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The empty stretches between the union of `intervals`, as (start, end)."""
    gaps: list[tuple[float, float]] = []
    end: float | None = None
    for start, stop in sorted(intervals):
        if end is not None and start > end:
            gaps.append((end, start))
        end = stop if end is None else max(end, stop)
    return gaps


def _column_cut(words: list[Word], min_gap: float) -> float | None:
    """The x of the widest clear vertical gutter that splits `words` into two real columns, if any."""
    best: tuple[float, float] | None = None
    for start, stop in _gaps((w.x0, w.x1) for w in words):
        if stop - start < min_gap or (best and stop - start <= best[1] - best[0]):
            continue
        left = [w for w in words if w.x1 <= start]
        right = [w for w in words if w.x0 >= stop]
        wide = min(max(w.x1 for w in left) - min(w.x0 for w in left), max(w.x1 for w in right) - stop)
        tall = min(len(_gaps((w.top, w.bottom) for w in side)) for side in (left, right))
        if wide >= MIN_COLUMN_WIDTH and tall >= 1:
            best = (start, stop)
    return None if best is None else (best[0] + best[1]) / 2


def _xy_cut(words: list[Word], min_gap: float) -> list[Line]:
    """Lines in reading order by recursive XY-cut: split at a column gutter first, else at the widest
    row gaps, and where tightly set rows leave no gap, by baseline row.

    Columns come first so that a sidebar or a second column is read as a whole, not interleaved
    line by line with the body; a gutter only counts when both sides are at least two rows tall
    and `MIN_COLUMN_WIDTH` wide, which keeps "Datum   3 februari 2023" on one line.
    """
    if not words:
        return []
    cut = _column_cut(words, min_gap)
    if cut is not None:
        left = [w for w in words if w.x1 <= cut]
        right = [w for w in words if w.x1 > cut]
        return _xy_cut(left, min_gap) + _xy_cut(right, min_gap)
    rows = _gaps((w.top, w.bottom) for w in words)
    if rows:
        # the widest row gaps first: two columns set on the same leading share every line gap, so
        # cutting at all of them at once would leave one-row bands and read across the gutter
        widest = max(stop - start for start, stop in rows)
        rows = [(start, stop) for start, stop in rows if stop - start >= widest - ROW_GAP_TOLERANCE]
        stops = [stop for _, stop in rows]
        bands: list[list[Word]] = [[] for _ in range(len(rows) + 1)]
        for word in words:
            bands[bisect.bisect_right(stops, word.top)].append(word)
        return [line for band in bands for line in _xy_cut(band, min_gap)]
    by_row: dict[float, list[Word]] = {}
    for word in words:
        by_row.setdefault(word.row, []).append(word)
    lines = [Line(sorted(row, key=lambda w: w.x0)) for row in by_row.values()]
    return sorted(lines, key=lambda line: line.top)


def page_lines(page: PageWords) -> list[Line]:
    """The page's lines in reading order."""
    if not page.words:
        return []
    height = statistics.median(w.height for w in page.words)
    return _xy_cut(page.words, max(6.0, 0.8 * height))


# --- the document: sidebar column, letter head, running lines, paragraphs ----------------------

EDGE_ZONE = 0.12
"""Share of the page height at the top and at the bottom where running headers and footers live."""
EDGE_LINES = 2
"""Lines at the top and bottom of a page's body that may be running lines wherever they stand."""
_SALUTATION = re.compile(r"^(?:Geachte|Hooggeachte|Zeer geachte|Beste|Dear|L\.S\.)\b")
_HEAD_LABELS = frozenset(
    {"Datum", "Betreft", "Onderwerp", "Kenmerk", "Ons kenmerk", "Onze referentie", "Uw kenmerk", "Uw referentie"}
    | {"Uw brief", "Uw brief van", "Uw brief (kenmerk)", "Bijlage(n)", "Bijlagen", "Retouradres"}
)
"""Labels that, above the salutation, belong to the colophon even though they stand in the body column."""


@dataclass
class Layout:
    """A document's body text per page and the colophon lines taken out of it."""

    pages: list[str]
    """Per page: body lines joined by "\\n", paragraphs separated by a blank line (not yet re-flowed)."""
    sidebar: list[str]
    """Colophon fields, one per line, label and value together ("Kenmerk IENW/BSK-2023/33017")."""
    furniture: list[str]
    """Running lines and edge numbers stripped from the pages that name an identifier (`clean.identifier_lines`)."""


def _label(line: Line) -> str | None:
    label = clean.sidebar_label(line.text)
    return None if label is None else " ".join(label.split())


def _sidebar_column(pages: list[PageWords], lines: list[list[Line]]) -> float | None:
    """The left edge of a right-hand colophon column, found from labelled lines at the same x on the right."""
    edges: Counter[int] = Counter()
    for page, page_lines_ in zip(pages, lines):
        for line in page_lines_:
            if line.x0 > 0.6 * page.width and clean.is_colophon_line(line.text):
                edges[round(line.x0 / 4)] += 1
    if not edges:
        return None
    edge, count = max(edges.items(), key=lambda item: (item[1], -item[0]))
    found = [
        line.x0 for page_lines_ in lines for line in page_lines_ if round(line.x0 / 4) in (edge - 1, edge, edge + 1)
    ]
    return min(found) - 2 if count >= 2 else None


def _row_pieces(page: PageWords) -> list[Line]:
    """Each baseline row of the page cut at wide gaps: cheap stand-ins for lines, to find the column by."""
    rows: dict[float, list[Word]] = {}
    for word in page.words:
        rows.setdefault(word.row, []).append(word)
    pieces: list[Line] = []
    for row in rows.values():
        row.sort(key=lambda w: w.x0)
        piece = [row[0]]
        for word in row[1:]:
            if word.x0 - piece[-1].x1 > max(word.height, piece[-1].height):
                pieces.append(Line(piece))
                piece = []
            piece.append(word)
        pieces.append(Line(piece))
    return pieces


def _split_column(page: PageWords, column: float | None) -> tuple[list[Line], list[Line]]:
    """(body, sidebar) lines of a page, the words split at the colophon column's left edge.

    The split is by word, not by line, because a narrow gutter lets a body line and a sidebar line
    on the same baseline read as one line. A page where words run across the edge (a full-width
    annex) has no sidebar.
    """
    if column is None:
        return page_lines(page), []
    straddling = sum(1 for w in page.words if w.x0 < column - 1 and w.x1 > column + 1)
    side = [w for w in page.words if w.x0 >= column]
    if straddling > 1 or not side:
        return page_lines(page), []
    body = [w for w in page.words if w.x0 < column]
    return page_lines(PageWords(body, page.width, page.height)), page_lines(PageWords(side, page.width, page.height))


def _blocks(lines: list[Line]) -> list[list[Line]]:
    """Runs of lines without a gap larger than about half a line between them."""
    blocks: list[list[Line]] = []
    for line in lines:
        previous = blocks[-1][-1] if blocks else None
        if previous is None or line.top - previous.bottom > 0.8 * max(line.height, previous.height) or line.top < previous.top:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def sidebar_fields(lines: list[Line]) -> list[str]:
    """The colophon column's lines as fields (`clean.colophon_fields`), blocks split at vertical white space."""
    return clean.colophon_fields([[line.text for line in block] for block in _blocks(lines)])


def _value_column(line: Line) -> float | None:
    """Where a label line's value starts: after its widest gap ("Betreft ␣␣␣␣ Nationaal …")."""
    gaps = [(b.x0 - a.x1, b.x0) for a, b in zip(line.words, line.words[1:])]
    return max(gaps)[1] - 1 if gaps else None


def _letter_head(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Split a page's body lines into (body, colophon lines): the head above the salutation, or above
    the first line of prose in a document without one (a nota, an agenda). Every page is tried, as a
    Woo file bundles several letters; a continuation page starts with prose and loses nothing.

    "> Retouradres …", "Datum 3 februari 2023" and "Betreft …" with its wrapped lines (indented to the
    value column) go to the colophon; the addressee stays in the body.
    """
    end = next((i for i, line in enumerate(lines) if _SALUTATION.match(line.text)), None)
    if end is None:
        widest = max((line.x1 - line.x0 for line in lines), default=0.0)
        end = next((i for i, line in enumerate(lines) if len(line.words) >= 8 and line.x1 - line.x0 > 0.6 * widest), 0)
    head: list[Line] = []
    body: list[Line] = []
    value_x: float | None = None
    for line in lines[:end]:
        label = _label(line)
        if label in _HEAD_LABELS:
            head.append(line)
            value_x = _value_column(line)
        elif value_x is not None and line.x0 >= value_x and head and line.top - head[-1].bottom < line.height:
            head[-1] = Line(head[-1].words + line.words)
        else:
            body.append(line)
            value_x = None
    return body + lines[end:], head


def _furniture_free(
    lines: list[Line], page: PageWords, running: set[str]
) -> tuple[list[Line], list[str], list[str]]:
    """Drop publication footers anywhere, and running lines, page numbers and ids at the page's edges.

    Returns the remaining lines, the metadata kept from footers (`clean.furniture`) and the edge
    lines dropped (running headers and footers, numbers), for the identifiers they print.
    """
    body: list[Line] = []
    kept: list[str] = []
    dropped: list[str] = []
    for i, line in enumerate(lines):
        text = line.text
        is_footer, keep = clean.furniture(text)
        if is_footer:
            kept += [keep] if keep else []
        elif (_at_edge(line, page) or i < EDGE_LINES or i >= len(lines) - EDGE_LINES) and (
            clean.is_page_number(text) or clean.line_key(text) in running or re.fullmatch(r"\d{1,8}", text)
        ):
            dropped.append(text)
        else:
            body.append(line)
    return body, kept, dropped


def _at_edge(line: Line, page: PageWords) -> bool:
    return line.bottom < EDGE_ZONE * page.height or line.top > (1 - EDGE_ZONE) * page.height


def _usual_gap(lines: list[Line]) -> float:
    """The page's ordinary white space between two lines of one paragraph (the median of small gaps)."""
    gaps = [
        b.top - a.bottom
        for a, b in zip(lines, lines[1:])
        if 0 <= b.top - a.bottom < 2 * max(a.height, b.height) and abs(a.height - b.height) < 0.2 * a.height
    ]
    return statistics.median(gaps) if gaps else 0.0


def paragraphs(lines: list[Line]) -> str:
    """Body lines as text: lines joined by "\n", a blank line where a paragraph ends.

    A paragraph ends where the white space above a line clearly exceeds the page's usual line gap, at
    a change of type size, between a bold heading and plain text, and where reading order jumps back
    up (the next column). The usual gap is measured per page because OCR'd text layers often set
    small glyph boxes at a wide line pitch.
    """
    usual = _usual_gap(lines)
    parts: list[str] = []
    previous: Line | None = None
    for line in lines:
        if previous is not None:
            height = max(line.height, previous.height)
            gap = line.top - previous.bottom
            new_paragraph = (
                gap > max(1.5 * usual, usual + 0.5 * height)
                or line.top < previous.top - 0.5 * height
                or abs(line.height - previous.height) > 0.2 * height
                or line.bold != previous.bold
            )
            parts.append("\n\n" if new_paragraph else "\n")
        parts.append(line.text)
        previous = line
    return "".join(parts)


def lay_out(pages: list[PageWords]) -> Layout:
    """Read a document's pages into body text per page and its colophon, minus running headers and footers."""
    column = _sidebar_column(pages, [_row_pieces(page) for page in pages])
    sidebar: list[str] = []
    bodies: list[list[Line]] = []
    for page in pages:
        body, side = _split_column(page, column)
        body, head = _letter_head(body)
        side = head + side
        sidebar += sidebar_fields(side)
        bodies.append(body)
    edges = [
        [line.text for i, line in enumerate(body) if _at_edge(line, page) or i < EDGE_LINES or i >= len(body) - EDGE_LINES]
        for body, page in zip(bodies, pages)
    ]
    running = clean.recurring(edges)
    texts: list[str] = []
    furniture: list[str] = []
    for body, page in zip(bodies, pages):
        kept_body, kept, dropped = _furniture_free(body, page, running)
        sidebar += kept
        furniture += dropped
        texts.append(paragraphs(kept_body))
    sidebar = clean.unique_lines(line for line in sidebar if not clean.is_page_number(line))
    return Layout(texts, sidebar, clean.identifier_lines(furniture))
