"""Citations a person can follow, built from stored fields only.

"Kamerstuk 36 410 XVI, nr. 137 — Ministerie van VWS, 27 februari 2024 — p. 2"
"Ministerie van Financiën, brief van 13 april 2022, kenmerk 2022-0000088502 — p. 1"
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from indexer.store import DocumentRow

MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december"]


@dataclass
class Citation:
    document: str
    """The document's short id (`archive show` takes it)."""
    title: str
    path: str
    page: int
    page_end: int
    link: str
    """`file.pdf#page=N` for PDFs, the file path otherwise."""
    date: str | None
    sender: str | None
    doc_type: str | None
    kenmerk: str | None
    kamerstuk: str | None
    """"36 410 XVI, nr. 137" when the document is a Kamerstuk."""
    text: str
    """The whole citation as one line."""


def dutch_date(iso: str | None) -> str | None:
    """'2024-02-27' → '27 februari 2024'; other strings pass through."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not match:
        return iso
    year, month, day = (int(g) for g in match.groups())
    return f"{day} {MONTHS[month - 1]} {year}" if 1 <= month <= 12 else iso


def display_dossier(dossier: str) -> str:
    """'36410-XVI' → '36 410 XVI' as Kamerstukken print it."""
    number, _, rest = dossier.partition("-")
    if number.isdigit() and len(number) > 3:
        number = f"{number[:-3]} {number[-3:]}"
    return f"{number} {rest}".strip()


def display_path(path: str) -> str:
    """The path relative to the working directory when it lies below it (shorter, still followable)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def cite(doc: DocumentRow, page: int, page_end: int | None = None) -> Citation:
    page_end = page_end or page
    path = display_path(doc.path)
    link = f"{path}#page={page}" if doc.format == "pdf" else path
    title = doc.title or Path(doc.path).name
    kamerstuk = None
    if doc.dossier and doc.ondernummer:
        kamerstuk = f"{display_dossier(doc.dossier)}, nr. {doc.ondernummer}"
    pages = f"p. {page}" if page_end == page else f"p. {page}–{page_end}"
    when = dutch_date(doc.date)
    if kamerstuk:
        who = ", ".join(x for x in (doc.sender, when) if x)
        parts = [f"Kamerstuk {kamerstuk}", who]
    else:
        kind = (doc.doc_type or "document").lower()
        head = ", ".join(x for x in (doc.sender, f"{kind} van {when}" if when else None) if x)
        if doc.kenmerk:
            head = f"{head}, kenmerk {doc.kenmerk}" if head else f"kenmerk {doc.kenmerk}"
        parts = [head or title]
    parts.append(pages)
    text = " — ".join(p for p in parts if p)
    return Citation(
        document=doc.key, title=title, path=path, page=page, page_end=page_end, link=link, date=doc.date,
        sender=doc.sender, doc_type=doc.doc_type, kenmerk=doc.kenmerk, kamerstuk=kamerstuk, text=text,
    )
