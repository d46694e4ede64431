"""The colophon of a government letter: labelled fields (Datum, Betreft, Ons kenmerk …) read into values.

Rijkshuisstijl letters print their metadata as label–value pairs beside or above the text. Text layers
scramble them in three ways, all seen in the corpus: labels stacked above their values ("Datum\\nBetreft
\\n\\n3 februari 2023\\nTitel"), two columns flattened onto one line ("Datum   6 november 2023 Betreft
Voortgang …"), and words split by stray spaces ("Onze ref erentie 4 1 059776"). `read_labels` undoes
each; `clean_kenmerk` removes the stray spaces from a kenmerk.
"""

from __future__ import annotations

import re

from indexer.dates import DATE_PATTERN, find_dates, parse_date

_LABELS: dict[str, str] = {
    "datum": r"(?:Plaats/)?Datum(?: vaststelling)?",
    "betreft": r"Betreft|Onderwerp|Subject",
    "uw_brief_date": r"Uw (?:brief|e-mail|bericht) (?:van|d\.d\.)",
    "uw_kenmerk": r"Uw (?:kenmerk|referentie|ref\.|brief \(kenmerk\)|brief)",
    "kenmerk": r"Ons kenmerk|Onze referentie|Onze ref\.|Kenmerk|Referentie|Ons nummer",
    "aan": r"Aan",
    "other": (
        r"Bijlagen?|Bijlage\(n\)|Inlichtingen(?: bij)?|Contactpersoon|Doorkiesnummer|Bezoekadres|Postadres"
        r"|Kopie aan|Afschrift aan|Van|From|To|Cc|Sent|Received|Verzonden|Deadline|Zaaknummer|Auteurs?|Versie"
        r"|Overheidsidentificatienr|Telefoon|Projectnaam|Vergaderplaats|Aanwezig"
    ),
}
"""Colophon labels by field; "other" labels are recognised only so their values are not taken for ours."""


def _spaced(label: str) -> str:
    """Let a label match when a poor text layer split its words ("Onze ref erentie")."""
    return re.sub(r"(?<=[A-Za-z])(?=[a-z])", " ?", label)


_LABEL_ALTERNATIVES = "|".join(f"(?P<{field}>{_spaced(rx)})" for field, rx in _LABELS.items())
LABEL_AT_START = re.compile(rf"^(?:{_LABEL_ALTERNATIVES})(?:[ \t]*:[ \t]*|[ \t]+|$)")
ANY_LABEL = "|".join(_spaced(rx) for rx in _LABELS.values())
_OWN_LABEL = "|".join(_spaced(rx) for field, rx in _LABELS.items() if field not in {"aan", "other"})
_LABEL_INSIDE = re.compile(
    rf"(?<![ \t])[ \t]+(?=(?:{ANY_LABEL})(?:[ \t]*:|[ \t]{{2,}}|$))|(?<![ \t])[ \t]{{2,}}(?=(?:{_OWN_LABEL})[ \t])"
)
"""Where a flattened line ("Datum   6 november 2023 Betreft   Voortgang …") holds the next label: a label
followed by a colon or a column gap, or one of our own labels after a column gap."""
_OWN_LABEL_TIGHT = re.compile(rf"{_LABEL_INSIDE.pattern}|(?<=\S)[ \t]+(?=(?:{_OWN_LABEL})[ \t]+\S)")
_MULTILINE = {"betreft", "aan"}
HEADER_END = re.compile(r"^(?:Geachte|Beste |Dear|L\.S\.|Hierbij|De Kamer,|Vraag 1|Aanleiding|Geadviseerd besluit)")


def _accepts(field: str, value: str) -> bool:
    """Whether `value` can be the value of `field`, so stacked labels get the right values."""
    if field in {"datum", "uw_brief_date"}:
        return len(value) < 40 and parse_date(value) is not None
    if field in {"kenmerk", "uw_kenmerk"}:
        return (
            bool(re.search(r"\d", value))
            and len(value) <= 40
            and len(value.split()) <= 6
            and not parse_date(value)
            and not re.match(r"(?i)pagina\b", value)
        )
    if field == "betreft":
        return len(re.findall(r"[^\W\d_]", value)) >= 3 and not DATE_PATTERN.fullmatch(value.strip())
    return True


def _segments(line: str, *, tight: bool = False) -> list[tuple[str | None, str]]:
    """Split a line into (label field or None, value) pieces; flattened layouts hold several labels a line.

    With `tight`, as in an extractor's sidebar, one space before one of our labels also starts a new
    piece ("Onze referentie 42347538 Datum 14 november 2023").
    """
    pieces = (_OWN_LABEL_TIGHT if tight else _LABEL_INSIDE).split(line)
    segments: list[tuple[str | None, str]] = []
    for piece in pieces:
        match = LABEL_AT_START.match(piece.strip())
        if match:
            segments.append((match.lastgroup, piece.strip()[match.end() :].strip()))
        elif piece.strip():
            segments.append((None, piece.strip()))
    return segments


def read_labels(block: str, *, sidebar: bool = False) -> dict[str, str]:
    """Return colophon values by field from `block`, up to the salutation.

    Handles "Datum 13 april 2022", "Datum:" with the value on the next line, two columns on one line
    ("Datum 30 mei 2023 Ons kenmerk DGBI/26844711"), and labels stacked above their values
    ("Datum\\nBetreft\\n\\n3 februari 2023\\nTitel"): a value goes to the first label of the latest
    stack that accepts it (`_accepts`). In running text a subject may continue on short lines; an
    extractor's `sidebar` holds one field per line, so there it does not, and labels split tighter.
    """
    values: dict[str, str] = {}
    stacks: list[list[str]] = []
    open_field: str | None = None
    after_label = False
    for raw in block.splitlines()[:120]:
        line = raw.strip(" \t>*#_|").replace("**", "").strip()
        if not line:
            open_field, after_label = None, False
            continue
        if HEADER_END.match(line):
            break
        segments = _segments(line, tight=sidebar)
        while segments:
            field, value = segments.pop(0)
            if field and not value:
                if after_label and stacks:
                    stacks[-1].append(field)
                else:
                    stacks.append([field])
                open_field, after_label = None, True
                continue
            after_label = False
            if field in {"datum", "uw_brief_date"} and (date := DATE_PATTERN.search(value)):
                value, rest = value[: date.end()], value[date.end() :].strip()
                if LABEL_AT_START.match(rest):
                    segments = _segments(rest) + segments
                elif rest and (other := _take_pending(stacks, rest)) and other not in values:
                    values[other] = rest
            if field:
                target: str | None = field if _accepts(field, value) else None
            elif not sidebar and open_field in values and len(line) <= 60 and len(values[open_field]) < 200:
                values[open_field] += " " + value
                continue
            else:
                target = _take_pending(stacks, value)
            if target and target not in values:
                values[target] = value
            open_field = target if target in _MULTILINE else None
    pending = {field for stack in stacks for field in stack}
    if "uw_brief_date" in pending and "betreft" in values:
        _move_trailing_date(values)
    return {k: v for k, v in values.items() if k != "other"}


def _move_trailing_date(values: dict[str, str]) -> None:
    """A flattened "Uw brief van  Betreft  X  6 november 2023" prints the awaited date after the subject."""
    dates = find_dates(values["betreft"])
    if dates and dates[-1][2] == len(values["betreft"].rstrip()):
        values["uw_brief_date"] = values["betreft"][dates[-1][1] : dates[-1][2]]
        values["betreft"] = values["betreft"][: dates[-1][1]].rstrip()


def _take_pending(stacks: list[list[str]], value: str) -> str | None:
    """Remove and return the pending label that `value` belongs to: latest stack first, and within a stack
    our own fields before "other" labels, which accept anything."""
    for stack in reversed(stacks):
        for i, field in sorted(enumerate(stack), key=lambda item: item[1] == "other"):
            if _accepts(field, value):
                del stack[i]
                if not stack:
                    stacks.remove(stack)
                return field
    return None


def clean_kenmerk(value: str) -> str:
    """Undo text-layer spacing in a kenmerk: "I E NW/BSK-2023/ 33017" → "IENW/BSK-2023/33017", "4 1 059776" → "41059776"."""
    value = re.sub(r"\s*/\s*", "/", value.strip().rstrip(".,;"))
    tokens = value.split()
    merged: list[str] = []
    glue = False
    for token in tokens:
        if glue and merged:
            merged[-1] += token
        else:
            merged.append(token)
        glue = len(token) == 1 and token.isalnum()
    return " ".join(merged)
