"""The official citation form of a stored document, as a clerk pastes it into a note.

Kamerstukken: "Kamerstukken II 2023/24, 36 410 XVI, nr. 137" (Aanwijzingen voor de regelgeving,
aanwijzing 9.11). Aanhangsel: "Aanhangsel Handelingen II 2023/24, nr. 1314". Letters: ministry,
date and kenmerk ("Ministerie van Financiën, brief van 13 april 2022, kenmerk 2022-0000088502").
"""

from __future__ import annotations

from collections.abc import Mapping

from archive.citations import display_dossier, dutch_date
from archive.related import display_aanhangsel


def short_year(vergaderjaar: str) -> str:
    """'2023-2024' → '2023/24'; other strings pass through."""
    first, _, second = vergaderjaar.partition("-")
    return f"{first}/{second[-2:]}" if len(first) == 4 and len(second) == 4 else vergaderjaar


def official_citation(document: Mapping[str, object]) -> str:
    """The official form for the stored fields of one document (`DocumentView.document`)."""
    get = lambda name: str(document.get(name) or "")  # noqa: E731
    if get("dossier") and get("ondernummer"):
        year = f" {short_year(get('vergaderjaar'))}" if get("vergaderjaar") else ""
        return f"Kamerstukken II{year}, {display_dossier(get('dossier'))}, nr. {get('ondernummer')}"
    if get("aanhangsel"):
        return display_aanhangsel(get("aanhangsel"))
    kind = (get("doc_type") or "brief").lower() if get("doc_type") in ("", "brief", "Kamerbrief") else get("doc_type")
    when = dutch_date(get("date") or None)
    parts = [get("sender"), f"{kind} van {when}" if when else "", f"kenmerk {get('kenmerk')}" if get("kenmerk") else ""]
    return ", ".join(p for p in parts if p) or get("title") or get("key")
