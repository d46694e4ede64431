"""What a query says about the documents it wants besides its words: a date or period, a sending
ministry, a document type ("Kamerbrief EZK 30 mei 2023", "antwoord minister van VWS februari 2024",
"motie over stikstof van 2023").

Each understood facet is a soft boost, never a filter: a document that matches it ranks higher, none
is left out, so a date that names an event rather than the letter ("na de aardbeving van februari
2023") costs little. Documents that match every facet of a narrow query (a day or a month together
with a sender or a type) also join the candidates, so the EZK letter of 30 May 2023 is found even when
its words share nothing with the query; and a query that names nothing but facets ranks documents by
how many of them they match before anything else (its words are no subject to rank by).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.dates import MONTHS, find_dates
from indexer.analysis import analyse
from indexer.ministries import MINISTER_OF, MINISTER_VOOR, MINISTRIES, ministry
from indexer.store import DocumentRow

_MONTH_YEAR = re.compile(rf"(?i)\b({'|'.join(sorted(MONTHS, key=len, reverse=True))})\s+((?:19|20)\d\d)\b")
_YEAR = re.compile(r"(?i)\b(?:van|in|uit|sinds|jaar)\s+((?:19|20)\d\d)\b(?![-/.,]?\d)")
_BARE_YEAR = re.compile(r"(?<![\w/.,-])(?<!\w\()((?:19|20)\d\d)(?![\w/(-]|[.,]\d|\)\s*\d)")
"""A year standing alone ("moties 2023 VWS"), not part of an identifier ("2024Z02422", "2022/23",
"COM(2021) 726"). Read only in a query of facets alone: beside a subject a bare year is as often the
subject's ("Kamerbrief begroting 2024", a letter of 2023)."""
_ABBREVIATIONS = re.compile(r"\b(" + "|".join(re.escape(keys[0]) for keys in MINISTRIES.values()) + r")\b")
_TYPES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"(?i)\bkamerbrie(?:f|ven)\b"), ("Kamerbrief",)),
    (re.compile(r"(?i)\bmoties?\b"), ("motie",)),
    (re.compile(r"(?i)\bantwoord(?:en)?\b"), ("antwoord op Kamervragen",)),
    (re.compile(r"(?i)\b(?:kamer)?vragen\s+van\b|\bkamervragen\b"), ("Kamervragen", "antwoord op Kamervragen")),
    (re.compile(r"(?i)\bwoo-?besluit(?:en)?\b"), ("Woo-besluit",)),
    (re.compile(r"(?i)\bbeslisnota'?s?\b"), ("beslisnota",)),
    (re.compile(r"(?i)\bbnc-?fiches?\b"), ("BNC-fiche",)),
]
"""Words that name a document type, first match wins ("antwoord op Kamervragen" is an answer)."""


def _spelled(name: str) -> re.Pattern[str]:
    return re.compile(r"(?i)\b" + r"\W+".join(re.escape(word) for word in re.findall(r"\w+", name)) + r"\b")


_FULL_NAMES = [(name, _spelled(name)) for name in sorted(MINISTRIES, key=len, reverse=True) if len(re.findall(r"\w+", name)) > 1]
"""Ministry names of two words or more, recognised wherever they stand ("Kamerbrief van Economische
Zaken en Klimaat"); a one-word name ("Defensie", "Financiën") is as often the subject, so it counts
only after "minister(ie) van"."""
_TITLE = re.compile(r"(?i)\b(?:ministerie|minister|staatssecretaris)s?(?:\s+(?:van|voor))?\b|\bbrie(?:f|ven)\b")
"""Words around a sender that name no subject ("de minister van", "brief")."""

BOOST = 0.25
"""A passage of a document matching every understood facet gains BOOST / (60 + 1) in the
reciprocal-rank fusion (archive/fusion.py), a quarter of what ranking first on one side gives; a
partial match gains its share."""
NARROW_CANDIDATES = 50
"""Documents matching every facet of a narrow query that join the candidates (a day's letters of
one ministry are a handful)."""


@dataclass(frozen=True)
class Understood:
    period: tuple[str, str] | None = None
    """ISO prefixes, inclusive: ("2023-05-30", "2023-05-30"), ("2024-02", "2024-02"), ("2023", "2023")."""
    sender: str | None = None
    """Canonical ministry name ("Economische Zaken en Klimaat")."""
    doc_types: tuple[str, ...] = ()
    content: bool = True
    """Whether the query says anything besides its facets: "Kamerbrief EZK 30 mei 2023" does not,
    "motie over stikstof van 2023" does."""

    def facets(self) -> int:
        return (self.period is not None) + (self.sender is not None) + bool(self.doc_types)

    def boosts(self) -> bool:
        """Only a query that names two facets or more is read as asking for documents by their
        metadata: one facet alone is mostly a word of a content question ("Welke motie verzocht …",
        "na de aardbeving van februari 2023"), and boosting on it cost the dev set's clerk
        questions 0.977 → 0.962 MRR@10."""
        return self.facets() >= 2

    def narrow(self) -> bool:
        """A day or a month with a sender or a type: few enough documents to add as candidates."""
        return bool(self.period and len(self.period[0]) >= 7 and (self.sender or self.doc_types))

    def matched(self, doc: DocumentRow) -> float:
        """The share of the facets `doc` matches (0 when nothing was understood)."""
        if not self.facets():
            return 0.0
        hits = 0
        if self.period and doc.date:
            hits += self.period[0] <= doc.date[: len(self.period[0])] <= self.period[1]
        if self.sender:
            hits += self.sender.lower() in " ".join(filter(None, (doc.sender, doc.sender_unit, doc.signatory))).lower()
        if self.doc_types:
            hits += doc.doc_type in self.doc_types
        return hits / self.facets()

    def describe(self) -> str | None:
        """"understood: date 2023-05-30, sender Economische Zaken en Klimaat, type Kamerbrief"."""
        parts = []
        if self.period:
            parts.append(f"date {self.period[0]}" + (f" to {self.period[1]}" if self.period[1] != self.period[0] else ""))
        if self.sender:
            parts.append(f"sender {self.sender}")
        if self.doc_types:
            parts.append(f"type {' or '.join(self.doc_types)}")
        return f"understood (ranked higher, not filtered): {', '.join(parts)}" if parts else None


def understand(query: str) -> Understood:
    """The date or period, ministry and document type a query names, each only when it names one,
    and whether it names anything else."""
    sender = _sender(query)
    types = next((types for pattern, types in _TYPES if pattern.search(query)), ())
    content = _content(query, sender)
    period = _period(query)
    if period is None and not content and (year := _BARE_YEAR.search(query)):
        period = year[1], year[1]
    return Understood(period, sender, types, content=content)


def _content(query: str, sender: str | None) -> bool:
    """Whether `query` has a word left once its dates, sender, titles and type words are taken out."""
    for start, end in sorted(((start, end) for _, start, end in find_dates(query)), reverse=True):
        query = query[:start] + " " + query[end:]
    spelled = [sender, MINISTRIES[sender][0], *(name for name, of in MINISTER_VOOR.items() if of == sender)] if sender else []
    for pattern in (_MONTH_YEAR, _YEAR, _TITLE, *(p for p, _ in _TYPES), *(_spelled(name) for name in spelled)):
        query = pattern.sub(" ", query)
    return any(not term.isdigit() for term in analyse(query))


def _period(query: str) -> tuple[str, str] | None:
    if days := find_dates(query):
        return days[0][0], days[0][0]
    if month := _MONTH_YEAR.search(query):
        number = MONTHS[month[1].lower()]
        return f"{month[2]}-{number:02d}", f"{month[2]}-{number:02d}"
    if year := _YEAR.search(query):
        return year[1], year[1]
    return None


def _sender(query: str) -> str | None:
    if (named := MINISTER_OF.search(query)) and (found := ministry(named[1])):
        return found
    if abbreviation := _ABBREVIATIONS.search(query):
        return ministry(abbreviation[1])
    return next((name for name, pattern in _FULL_NAMES if pattern.search(query)), None)
