"""The records that flow through ingestion: one shape from extraction to the store.

Extractors produce an `Extraction` (cleaned pages plus the letter's sidebar kept apart),
`letters.parse_letter` turns it into `LetterFields`, and `passages.split_passages` cuts the
document text into `Passage`s whose character spans point into that same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOC_TYPES = (
    "Kamerbrief", "brief", "antwoord op Kamervragen", "Kamervragen", "motie", "Kamerstuk", "Woo-besluit",
    "Woo-document", "besluit", "beslisnota", "BNC-fiche", "toespraak", "bijlage",
)
"""Every `LetterFields.doc_type` that `letters.parse_letter` and the official metadata give; filters
accept exactly these (in any case)."""

PAGE_SEPARATOR = "\n\n"
"""Joins cleaned page texts into the document text that passage spans index into."""


@dataclass
class Page:
    number: int
    """1-based page number in the source file (a text file is one page unless it has form feeds)."""
    text: str
    """Cleaned body text: no sidebar, running header/footer or page number lines."""
    ocr: bool = False
    """True when the text came from Tesseract rather than the file's own text layer."""


@dataclass
class Extraction:
    pages: list[Page]
    sidebar: str = ""
    """Colophon/sidebar text (afzender, Inlichtingen, Ons kenmerk, Datum, Betreft …), one field per line,
    removed from the body but kept so that letter metadata can be parsed from it."""
    furniture: list[str] = field(default_factory=list)
    """Running header and footer lines stripped from the body that name an identifier (a Woo document
    number printed on every page, a kenmerk in a running header): not passage text, but the document's
    lookup keys (`indexer.keys`), so that a clerk typing the number finds it."""
    fields: dict[str, str] = field(default_factory=dict)
    """Official metadata that came with the file (officielebekendmakingen metadata.xml); it wins over
    anything parsed from the text. Keys are `LetterFields` attribute names."""

    @property
    def text(self) -> str:
        return PAGE_SEPARATOR.join(p.text for p in self.pages)

    def page_starts(self) -> list[int]:
        """Where each page begins in `text`: the one rule that passage spans and stored page
        offsets both follow."""
        starts, cursor = [], 0
        for page in self.pages:
            starts.append(cursor)
            cursor += len(page.text) + len(PAGE_SEPARATOR)
        return starts


@dataclass(frozen=True)
class Reference:
    """A structured pointer found in a letter's text, e.g. Kamerstuk 36 410 XVI, nr. 137."""

    kind: str
    """"kamerstuk" (dossier + nr), "dossier" (dossier only), "kenmerk" (a kenmerk cited in the
    body), "aanhangsel" (Aanhangsel van de Handelingen number, e.g. "ah-tk-20232024-1314")."""
    value: str
    """Normalised key: kamerstuk "36410-XVI:137", dossier "36410-XVI", kenmerk as printed, aanhangsel id."""
    text: str = ""
    """The words as they stand in the letter."""


@dataclass
class DocumentFields:
    """Typed metadata of one letter; every field optional because real letters omit most of them.

    Declared once: `LetterFields` adds the references found in the text, and the store makes its
    `documents` columns and its `DocumentRow` from these fields.
    """

    doc_type: str | None = None
    """One of DOC_TYPES."""
    title: str | None = None
    """Betreft / onderwerp, or the document's heading."""
    date: str | None = None
    """ISO date (YYYY-MM-DD) of the letter."""
    sender: str | None = None
    """Ministerie or body that sent it ("Ministerie van Financiën")."""
    sender_unit: str | None = None
    """Directie / afdeling from the sidebar."""
    signatory: str | None = None
    """Who signed: "De Minister van Volksgezondheid, Welzijn en Sport, C. Helder"."""
    addressee: str | None = None
    """"Aan de Voorzitter van de Tweede Kamer der Staten-Generaal", or the vakbonden addressed."""
    kenmerk: str | None = None
    """Ons kenmerk."""
    uw_kenmerk: str | None = None
    """Uw kenmerk / uw brief (kenmerk): the letter this one answers."""
    uw_brief_date: str | None = None
    """ISO date of the letter this one answers ("In jullie brief van 22 februari 2022")."""
    dossier: str | None = None
    """Kamerstuk dossier of this document itself, normalised "36410-XVI"."""
    ondernummer: str | None = None
    """Its number within the dossier ("137")."""
    vergaderjaar: str | None = None
    """"2023-2024"."""
    aanhangsel: str | None = None
    """Aanhangsel van de Handelingen id when the document is (or answers) Kamervragen, "ah-tk-20232024-1314"."""


@dataclass
class LetterFields(DocumentFields):
    """What `letters.parse_letter` finds in a letter: its fields and the references in its text."""

    references: list[Reference] = field(default_factory=list)
    """Kamerstukken, kenmerken and Aanhangsels the text cites."""


@dataclass(frozen=True)
class Passage:
    """A retrieval unit: `document_text[char_start:char_end] == text`, pages inclusive."""

    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str
