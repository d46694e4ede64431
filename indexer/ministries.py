"""The ministries that send letters, and the many ways a letter names its sender.

A letter rarely prints "Ministerie van X" in full in its text layer (the logo is an image): it says
"De minister voor Primair en Voortgezet Onderwijs", "Aan: MPVO", "@minvws.nl", "Postbus 20201" or
"(OCW)". These tables turn each of those into one canonical name, so a sender filter and the
benchmark compare like with like.
"""

from __future__ import annotations

import re
from collections import Counter

MINISTRIES: dict[str, tuple[str, ...]] = {
    "Algemene Zaken": ("AZ", "minaz", "20001"),
    "Asiel en Migratie": ("AenM", "minaenm"),
    "Binnenlandse Zaken en Koninkrijksrelaties": ("BZK", "minbzk", "20011"),
    "Buitenlandse Zaken": ("BZ", "minbuza", "20061"),
    "Defensie": ("DEF", "mindef", "20701"),
    "Economische Zaken en Klimaat": ("EZK", "minezk", "ezk"),
    "Economische Zaken": ("EZ", "minez"),
    "Financiën": ("FIN", "minfin", "20201"),
    "Infrastructuur en Waterstaat": ("IenW", "minienw", "ienw", "20901"),
    "Infrastructuur en Milieu": ("IenM", "minienm", "ienm"),
    "Justitie en Veiligheid": ("JenV", "minjenv", "jenv", "20301"),
    "Veiligheid en Justitie": ("VenJ", "minvenj", "venj"),
    "Klimaat en Groene Groei": ("KGG", "minkgg"),
    "Landbouw, Natuur en Voedselkwaliteit": ("LNV", "minlnv", "lnv"),
    "Landbouw, Visserij, Voedselzekerheid en Natuur": ("LVVN", "minlvvn"),
    "Onderwijs, Cultuur en Wetenschap": ("OCW", "minocw", "ocw", "16375"),
    "Sociale Zaken en Werkgelegenheid": ("SZW", "minszw", "szw", "90801"),
    "Volksgezondheid, Welzijn en Sport": ("VWS", "minvws", "vws", "20350"),
    "Volkshuisvesting en Ruimtelijke Ordening": ("VRO", "minvro"),
}
"""Ministry name → (abbreviation, mail and web slugs, Postbus number in Den Haag). A renamed ministry
keeps its old name as an entry of its own: a letter from 2011 was sent by Veiligheid en Justitie."""

MINISTER_VOOR: dict[str, str] = {
    "primair en voortgezet onderwijs": "Onderwijs, Cultuur en Wetenschap",
    "basis- en voortgezet onderwijs": "Onderwijs, Cultuur en Wetenschap",
    "klimaat en energie": "Economische Zaken en Klimaat",
    "rechtsbescherming": "Justitie en Veiligheid",
    "migratie": "Justitie en Veiligheid",
    "langdurige zorg": "Volksgezondheid, Welzijn en Sport",
    "medische zorg": "Volksgezondheid, Welzijn en Sport",
    "volkshuisvesting en ruimtelijke ordening": "Binnenlandse Zaken en Koninkrijksrelaties",
    "buitenlandse handel en ontwikkelingssamenwerking": "Buitenlandse Zaken",
    "natuur en stikstof": "Landbouw, Natuur en Voedselkwaliteit",
    "armoedebeleid, participatie en pensioenen": "Sociale Zaken en Werkgelegenheid",
    # The same ministers by the abbreviation internal notes address them with ("Aan: MPVO").
    "pvo": "Onderwijs, Cultuur en Wetenschap",
    "bvom": "Onderwijs, Cultuur en Wetenschap",
    "lzs": "Volksgezondheid, Welzijn en Sport",
    "mzs": "Volksgezondheid, Welzijn en Sport",
    "rb": "Justitie en Veiligheid",
    "bhos": "Buitenlandse Zaken",
    "ke": "Economische Zaken en Klimaat",
    "app": "Sociale Zaken en Werkgelegenheid",
}
"""Ministers without a ministry of their own ("minister voor …") and the ministry that sends their letters."""

_SQUASHED = {re.sub(r"\W", "", name.lower()): name for name in MINISTRIES}
_LONGEST_FIRST = sorted(_SQUASHED, key=len, reverse=True)
_BY_ABBREVIATION = {keys[0].lower(): name for name, keys in MINISTRIES.items()}
_BY_SLUG = {key: name for name, keys in MINISTRIES.items() for key in keys[1:] if not key.isdigit()}
_BY_POSTBUS = {key: name for name, keys in MINISTRIES.items() for key in keys if key.isdigit()}

MINISTER_OF = re.compile(r"(?i)\b(?:ministerie|minister|staatssecretaris)s?\s+(?:van|voor)\s+([^\n.;:()]{3,70})")
""""Ministerie van X", "de minister voor X", "staatssecretaris van X": group 1 starts with the name."""
_ABBREVIATION = re.compile(r"\b(OCW|VWS|EZK|IenW|SZW|BZK|JenV|VenJ|LNV|LVVN|KGG|IenM)\b")
"""Abbreviations distinctive enough to count as a mention of their ministry wherever they stand."""
_ABBREVIATED_MINISTER = re.compile(r"\b(?:[Mm]inister|[Ss]taatssecretaris)\b[^()\n]{0,40}\(([A-Za-z]{2,4})\)")


def ministry(name: str) -> str | None:
    """Return the canonical ministry a name starts with, as printed: "Infrastructuur en\\nWaterstaat",
    "financien", "VWS", "Primair en Voortgezet Onderwijs"; None when it names none."""
    squashed = re.sub(r"\W", "", name.lower()).replace("financien", "financiën")
    for key in _LONGEST_FIRST:
        if squashed.startswith(key):
            return _SQUASHED[key]
    first_word = re.match(r"\s*([A-Za-z]+)", name)
    abbreviated = _BY_ABBREVIATION.get(first_word[1].lower()) if first_word else None
    spaced = " ".join(name.lower().split()).rstrip(",")
    return abbreviated or next((of for key, of in MINISTER_VOOR.items() if spaced == key or spaced.startswith(key + " ")), None)


def ministry_in(phrase: str) -> str | None:
    """The ministry of a phrase that may carry a title in front: "De Staatssecretaris van Financiën,"."""
    named = MINISTER_OF.search(phrase)
    return ministry(named[1] if named else phrase)


def by_postbus(number: str) -> str | None:
    return _BY_POSTBUS.get(number)


def by_slug(slug: str) -> str | None:
    """The ministry of a mail domain or web path: "minvws" (@minvws.nl), "venj" (rijksoverheid.nl/venj)."""
    return _BY_SLUG.get(slug.lower())


def first_named(text: str) -> str | None:
    """The first ministry `text` spells out as "Ministerie van X", even across lines or with split words."""
    squashed = re.sub(r"\W", "", text.lower()).replace("financien", "financiën")
    found = [(squashed.find("ministerievan" + key), key) for key in _LONGEST_FIRST]
    found = [(position, key) for position, key in found if position >= 0]
    return _SQUASHED[min(found)[1]] if found else None


def most_named(text: str) -> str | None:
    """The ministry `text` mentions most, by name, by minister or by abbreviation."""
    mentions = Counter(ministry(m[1]) for m in MINISTER_OF.finditer(text))
    mentions.update(ministry(m[1]) for m in _ABBREVIATED_MINISTER.finditer(text))
    mentions.update(_BY_ABBREVIATION[m[1].lower()] for m in _ABBREVIATION.finditer(text))
    mentions.pop(None, None)
    return mentions.most_common(1)[0][0] if mentions else None


def normalise_sender(sender: str) -> str:
    """Return "Ministerie van <full name>" for any spelling of a ministry ("Ministerie van VWS (Woo)",
    "De Minister van VWS", "minister voor Rechtsbescherming"); other senders come back whitespace-normalised."""
    plain = " ".join(re.sub(r"\([^)]*\)", " ", sender).split())
    match = MINISTER_OF.search(plain)
    found = ministry(match[1]) if match else None
    return f"Ministerie van {found}" if found else plain
