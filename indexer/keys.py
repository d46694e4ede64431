"""Lookup keys: the normal forms under which documents are found by what a clerk or a letter names.

Computed once, at ingest, from a document's fields, references and text, and stored in the store's
indexed `keys` table, so that a lookup is one indexed equality instead of a normalising expression
over every row (which no index can serve) or a re-read of document texts on every call.

| kind | key | from |
|---|---|---|
| kenmerk | the document's own kenmerk, without spaces, in capitals | `kenmerk` |
| uw_kenmerk | each kenmerk in its Uw kenmerk field ("2024Z00446 en 2024Z02422" holds two) | `uw_kenmerk` |
| cited_kenmerk | each kenmerk the text cites | `refs` of kind kenmerk |
| questions | "members|ISO date" of the Kamervragen it poses or answers | the "Vragen van het lid … (ingezonden …)" header |
| sidebar | `identifier_key` of each identifier in the colophon ("Onze referentie 5687928/11", a zaak number) | `sidebar`, line by line |
| furniture | `identifier_key` of each identifier in a stripped running header or footer (a Woo number on every page) | `Extraction.furniture` |

Identifiers in the sidebar and the page furniture are the document's own, printed on it but not in
its passage text: before, a Woo document whose number stands only in its running header, or a
reference number only in the sidebar, was found nowhere (issue 17). They are read as a query is
(`find_identifiers`), line by line, so that a clerk's typed form meets the same key. Furniture keys
cannot be recomputed from what the store holds (the lines are not stored), so a store upgrade keeps
them (`RECOMPUTABLE`); the sidebar is stored, and its keys are recomputed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.dates import parse_date
from indexer.records import LetterFields
from indexer.references import find_identifiers

KINDS = ("kenmerk", "uw_kenmerk", "cited_kenmerk", "questions", "sidebar", "furniture")
RECOMPUTABLE = KINDS[:-1]
"""Kinds computed from stored fields, references, text and sidebar; "furniture" comes from lines
that extraction strips and only ingest sees."""
PRINTED = ("sidebar", "furniture")
"""Kinds holding identifiers printed on the document outside its text, looked up for any query identifier."""

QUESTIONS_HEAD_CHARS = 8000
"""The questions header stands on the first page: "Vragen van het lid … (ingezonden …)"."""

_QUESTIONS_HEADER = re.compile(
    r"(?is)vragen\s+van\s+(?:het\s+lid|de\s+leden)\s+(?P<members>[^()]{2,80}?(?:\s*\([^)]{1,40}\)[^()]{0,60}?)*?)"
    r"\s+(?:aan\s+de|aan\s+het|over)\b.{0,600}?\(ingezonden\s+(?P<date>\d{1,2}\s+\w+\s+\d{4})"
)


def kenmerk_key(kenmerk: str) -> str:
    """A kenmerk compared without spaces (no-break ones included) and case: "ienw/bsk-2023/ 33017" → "IENW/BSK-2023/33017"."""
    return re.sub(r"[\s\u00a0]", "", kenmerk).upper()


def kenmerk_tokens(value: str | None) -> list[str]:
    """The kenmerken in a Uw kenmerk field ("2024Z00446 en 2024Z02422" holds two), as keys."""
    if not value:
        return []
    parts = re.split(r"\s*(?:[,;]|\ben\b|\band\b)\s*", value)
    return [n for n in (kenmerk_key(p) for p in parts) if len(re.sub(r"\D", "", n)) >= 3]


def identifier_key(value: str) -> str:
    """An identifier's value (`Reference.value`) as a lookup key: without spaces, in capitals, so that
    "COM(2021) 726" and a kenmerk typed in lower case meet the printed form."""
    return kenmerk_key(value)


def printed_keys(lines: Iterable[str]) -> list[str]:
    """Keys of the identifiers in `lines` (sidebar fields, running headers), each line read as a query."""
    return [identifier_key(ref.value) for line in lines for ref in find_identifiers(line)]


def questions_key(text: str) -> str | None:
    """"members|ISO date" of the Kamervragen that `text` poses or answers, from its
    "Vragen van het lid … over … (ingezonden 12 maart 2024)" header; None without one."""
    match = _QUESTIONS_HEADER.search(text[:QUESTIONS_HEAD_CHARS])
    if not match:
        return None
    members = re.sub(r"\([^)]*\)|\bc\.s\.", " ", match["members"])
    members = " ".join(re.findall(r"[^\W\d_]+", members.lower()))
    iso = parse_date(match["date"])
    return f"{members}|{iso}" if members and iso else None


def document_keys(
    letter: LetterFields, text: str, sidebar: str = "", furniture: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(kind, key) pairs under which this document is found, without repeats."""
    keys: list[tuple[str, str]] = []
    if letter.kenmerk:
        keys.append(("kenmerk", kenmerk_key(letter.kenmerk)))
    keys += [("uw_kenmerk", token) for token in kenmerk_tokens(letter.uw_kenmerk)]
    keys += [("cited_kenmerk", kenmerk_key(ref.value)) for ref in letter.references if ref.kind == "kenmerk"]
    if question := questions_key(text):
        keys.append(("questions", question))
    keys += [("sidebar", key) for key in printed_keys(sidebar.splitlines())]
    keys += [("furniture", key) for key in printed_keys(furniture)]
    return list(dict.fromkeys(keys))
