"""Dutch dates: parse the ways letters print them, and find a letter's own date.

A letter mentions many dates ("op 9 maart 2022 hebben wij …"); only a few places state when it was
written: the Datum field of the colophon, a "Den Haag, 27 februari 2024" line, the Kamerstuk header
("Voorgesteld …", "Vastgesteld …", "Ontvangen …") or the answer line of Kamervragen
("(ontvangen 25 maart 2024)"). `letter_date` looks only there, so a body date never becomes the
letter's date.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS: dict[str, int] = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "feb": 2,
    "febr": 2,
    "maart": 3,
    "mrt": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "augustus": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
"""Full and abbreviated Dutch month names, lower case, without the abbreviation dot."""

_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))
_GAP = r"(?:[ \t\u00a0]{1,20}(?:\n[ \t\u00a0]{0,20})?|\n[ \t\u00a0]{0,20})"
"""Space between day, month and year; a line may wrap inside a date ("(ontvangen 23 juli\n2024)")."""
_WRITTEN = rf"(?P<d>[0-3]?\d)(?:e|ste|de)?\.?{_GAP}?(?P<m>{_MONTH_WORD})\.?,?{_GAP}?(?P<y>(?:1[89]|20)\d\d)(?!\d)"
"""Gaps may be missing: OCR text layers run "7september2020" together."""
_NUMERIC = r"(?P<nd>[0-3]?\d)(?P<sep>[-./])(?P<nm>[01]?\d)(?P=sep)(?P<ny>(?:1[89]|20)\d\d)(?!\d)"
_ISO = r"(?P<iy>(?:1[89]|20)\d\d)-(?P<im>[01]\d)-(?P<id>[0-3]\d)(?!\d)"
_DATE = rf"(?:{_WRITTEN}|{_NUMERIC}|{_ISO})"
DATE_PATTERN = re.compile(rf"(?<![\w-]){_DATE}", re.IGNORECASE)
"""One date as Dutch letters print it: "27 februari 2024", "27 feb. 2024", "13-04-2022", "2022-04-13"."""


def _iso(match: re.Match[str]) -> str | None:
    """Return the ISO form of a `DATE_PATTERN` match, or None when it names no real day (31 april)."""
    if match.group("d"):
        day, month, year = int(match.group("d")), MONTHS[match.group("m").lower()], int(match.group("y"))
    elif match.group("nd"):
        day, month, year = int(match.group("nd")), int(match.group("nm")), int(match.group("ny"))
    else:
        day, month, year = int(match.group("id")), int(match.group("im")), int(match.group("iy"))
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[str, int, int]]:
    """Return every valid date in `text` as (ISO date, start, end), in reading order."""
    found = []
    for match in DATE_PATTERN.finditer(text):
        iso = _iso(match)
        if iso:
            found.append((iso, match.start(), match.end()))
    return found


def parse_date(text: str) -> str | None:
    """Return the first date in `text` as YYYY-MM-DD ("Den Haag, 27 februari 2024" → "2024-02-27"), or None."""
    dates = find_dates(text)
    return dates[0][0] if dates else None


_LABEL_WORDS = r"(?:Betreft|Onderwerp|Ons\s+kenmerk|Kenmerk|Uw\s+kenmerk|Uw\s+brief[^\n]{0,20}|Bijlage\(?n?\)?|Bijlagen|Referentie|Onze\s+referentie)"
_DATE_ANCHORS: list[re.Pattern[str]] = [
    # The colophon field, also when the labels are stacked above their values (pdftotext layout:
    # "Datum\nBetreft\n\n3 februari 2023\n…") or OCR left a stray mark between label and value.
    re.compile(
        rf"(?<![\w-])(?:Plaats/)?D ?a ?t ?u ?m(?:[ \t]+vaststelling)?[ \t]*:?[ \t]*"
        rf"(?:\n(?:[ \t]*{_LABEL_WORDS}[ \t]*:?[ \t]*|[ \t]*\S{{0,2}}[ \t]*)){{0,4}}\n?[ \t]*"
        rf"(?:[A-Z][\w'’ -]{{1,30}},[ \t]*)?(?=(?i:{_DATE}))"
    ),
    # "Den Haag, 27 februari 2024"; another place name only on a line of its own ("Utrecht, 1 mei 2023").
    re.compile(r"(?<![\w-])(?:Den Haag|[’']s-Gravenhage),[ \t]*"),
    re.compile(r"(?m)^[ \t>*]*[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?,[ \t]*(?=[^\n]{6,25}\d{4}[ \t*]*$)"),
    # Kamerstuk and Kamervragen headers: the answer date wins over the date the questions came in.
    re.compile(r"(?<![\w-])(?:Voorgesteld|Vastgesteld|Ontvangen)[ \t]+(?:op[ \t]+)?"),
    # rijksoverheid.nl tags a page with its kind and date: "Toespraak | 07-12-2023".
    re.compile(r"\b(?:Toespraak|Kamerstuk|Brief|Publicatie|Rapport|Nieuwsbericht|Besluit|Beleidsnota) \| "),
    re.compile(r"\(ontvangen\s+"),
    re.compile(r"\(ingezonden\s+"),
    # Moties exported by the Tweede Kamer may print their date on its own line under the signatures.
    re.compile(
        rf"(?i)orde van de dag\.?[^\n]{{0,80}}(?:\n[^\n]{{0,40}}){{0,15}}?\n[ \t]*(?=(?i:{_DATE})[ \t]*(?:\n|$))"
    ),
]


def letter_date(text: str) -> str | None:
    """Return the letter's own date from its colophon or header in `text`, or None.

    Anchors are tried in order (Datum field, "Den Haag, …" line, Kamerstuk header, Kamervragen
    answer, Kamervragen questions, then a date standing alone on one of the first five lines, as
    moties exported by the Tweede Kamer begin and date stamps stand); within one anchor the first
    occurrence wins.
    Dates that are merely mentioned in the body are never returned.
    """
    for anchor in _DATE_ANCHORS:
        for match in anchor.finditer(text):
            found = DATE_PATTERN.match(text, match.end())
            iso = _iso(found) if found else None
            if iso:
                return iso
    for line in [line for line in text[:1000].splitlines() if line.strip()][:5]:
        stamp = re.sub(r"(?<=\d) (?=\d)", "", line.strip())  # a date stamp, OCR'd as "0 9 AUG 2022"
        if (found := DATE_PATTERN.fullmatch(stamp)) and (iso := _iso(found)):
            return iso
    return None
