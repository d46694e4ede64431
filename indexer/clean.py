"""Text clean-up shared by PDFs and text files: characters, page furniture, de-hyphenation, re-flow.

Everything here works on plain strings and lines, so the PDF extractor (after its positional pass in
`indexer/layout.py`) and the text extractor apply the same rules, and the rules can be property-tested.
Passages are later cut on blank lines, so the end product of `clean_page` is paragraphs separated by
"\\n\\n" with no running header, footer, page number or line-end hyphen left inside them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import Stemmer

from indexer.references import find_identifiers

# --- characters --------------------------------------------------------------------------------

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_ODD_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff\ufffe\ufffd]")
_SOFT_BREAK = re.compile(r"\u00ad[ \t]*\n[ \t]*")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_BULLET_GLYPHS = frozenset("\uf0b7\uf0a7\uf0a8\uf0d8\uf076\uf0fc\uf06e\uf0e0\uf02d\uf09f")
"""Symbol/Wingdings bullets that text layers hand over as private-use code points."""


def normalize(text: str) -> str:
    """Return `text` with one newline convention, NFC, no ligatures, odd spaces, soft hyphens or invisibles.

    A soft hyphen at a line end marks a word the typesetter split, so the two halves are joined there.
    Private-use symbol bullets become "•"; other private-use glyphs carry no text and are dropped.
    Form feeds stay: they are page breaks for the caller.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n").translate(_LIGATURES)
    text = _SOFT_BREAK.sub("", text).replace("\u00ad", "")
    text = _ODD_SPACES.sub(" ", text)
    text = _PRIVATE_USE.sub(lambda m: "•" if m.group() in _BULLET_GLYPHS else "", text)
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    return "\n".join(line.rstrip() for line in text.split("\n"))


# --- page furniture ----------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"(?i)^[\s\-–—(\[|]*(?:(?:p ?a ?g ?i ?n ?a|page|blz\.?|blad)\s*)?\d{1,3}"
    r"(?:\s*(?:van|of|/)\s*\d{1,3})?[\s\-–—)\]|.]*$"
    r"|^(?:p ?a ?g ?i ?n ?a|page)\s*[\dIl]{0,3}\s*(?:van|of)\s*\d{0,3}$"
)
_KAMER_FOOTER = re.compile(
    r"^(?:[’']s-Gravenhage \d{4}\s+)?"
    r"(?P<keep>(?:Tweede|Eerste) Kamer(?: der Staten-Generaal)?, vergaderjaar \d{4}\s*[–-]\s*\d{4},"
    r".*?(?:nr\. ?\d+|Aanhangsel))(?:\s+\d{1,4})?$"
)
_OWN_ID = re.compile(r"^(?:kst|ah-[te]k|blg|stb|stcrt|trb|h-[te]k)-[\w.-]+$")
_ISSN = re.compile(r"^ISSN \d{4} ?- ?\d{3}[\dX]$")
_IMPRINT = re.compile(r"^[’']s-Gravenhage \d{4}$")


def is_page_number(line: str) -> bool:
    """Whether the line is only a page number: "3", "- 3 -", "Pagina 2 van 5", "P agina 2 van 5", "2/7",
    or an OCR layer's "Pagina van" whose digits went astray."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def furniture(line: str) -> tuple[bool, str | None]:
    """Say whether `line` is a publication footer, and which part of it is worth keeping as metadata.

    Returns (is_footer, keep). Kamerstuk footers ("Tweede Kamer, vergaderjaar 2023–2024, 36 410 XVI,
    nr. 137 3"), publication ids ("kst-36410-XVI-137", "ah-tk-20232024-2210") and their ISSN line carry
    the dossier and number that letter parsing needs, so they come back (less the page number) for the
    sidebar; the "’s-Gravenhage 2024" imprint is dropped. These lines are specific enough to remove
    wherever they stand; a bare page number (`is_page_number`) only at a page's edge.
    """
    stripped = " ".join(line.split())
    if _IMPRINT.match(stripped):
        return True, None
    if footer := _KAMER_FOOTER.match(stripped):
        return True, footer["keep"]
    if _OWN_ID.match(stripped) or _ISSN.match(stripped):
        return True, stripped
    return False, None


def identifier_lines(lines: Iterable[str]) -> list[str]:
    """The stripped furniture lines worth keeping as lookup keys: those naming an identifier a clerk
    may type — a Woo document number printed alone at the top of every page ("183763"), a kenmerk or
    zaak number in a running header. Read as a query is (`find_identifiers`): a running line is
    short, and a bare number of six or more digits recurring on a page edge is the document's own
    number, never a page number. Page numbers and chapter titles name nothing and are left out."""
    return [line for line in unique_lines(" ".join(line.split()) for line in lines) if find_identifiers(line)]


def line_key(line: str) -> str:
    """Compare key for running headers: case and spacing ignored, a page number before or after dropped.

    "8 | Internationale Klimaatstrategie" and "Internationale Klimaatstrategie | 9" share a key; the
    number is only dropped from longer lines, so that "Vraag 3" and "Vraag 5" stay different lines.
    """
    line = line.strip().lower()
    stripped = re.sub(r"^\d{1,4}\s*(?:\||\s)\s*|\s*(?:\||\s)\s*\d{1,4}$", "", line)
    if len(stripped) >= 12:
        line = stripped
    return re.sub(r"\s+", "", line)


def recurring(edges: list[list[str]], share: float = 0.4, enough: int = 3) -> set[str]:
    """Keys (`line_key`) of lines found near the top or bottom of several pages.

    `edges` holds, per page, the lines of its top and bottom zone. A line counts when it stands on
    `share` of the pages, or on `enough` pages of a long document (a chapter's running header); a
    document of one page has none.
    """
    counts = Counter(key for page in edges for key in {line_key(line) for line in page if line.strip()})
    needed = max(2, min(share * len(edges), enough))
    return {key for key, count in counts.items() if count >= needed}


# --- sidebar labels ----------------------------------------------------------------------------


def _spaced(label: str) -> str:
    """Let a label match when a poor text layer split it ("Onze ref erentie", "P ostbus")."""
    return " ?".join(re.escape(c) for c in label.replace(" ", ""))


SIDEBAR_LABELS = (
    "Ons kenmerk",
    "Onze referentie",
    "Onze ref.",
    "Uw kenmerk",
    "Uw referentie",
    "Uw brief (kenmerk)",
    "Uw brief van",
    "Uw brief",
    "Uw e-mail van",
    "Kenmerk",
    "Inlichtingen",
    "Contactpersoon",
    "Doorkiesnummer",
    "Datum",
    "Plaats/Datum",
    "Betreft",
    "Onderwerp",
    "Bijlage(n)",
    "Bijlagen",
    "Bijlage",
    "Retouradres",
    "Bezoekadres",
    "Postadres",
    "Overheidsidentificatienr",
    "Telefoon",
)
"""Colophon labels of the Rijkshuisstijl and its relatives, longest alternatives before their prefixes."""
_LABEL = re.compile(
    r"^[>*_ ]*(?P<label>" + "|".join(_spaced(label) for label in SIDEBAR_LABELS) + r")[*_]*(?=$|[\s:*])",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"^(?:Ministerie van|Directoraat-[Gg]eneraal|Directie|Programmadirectie|Dienst|Afdeling|Eenheid|Inspectie)\b"
)
_CONTACT = re.compile(
    r"(?i)^(?:p ?o ?s ?t ?b ?u ?s \d|\d{4} ?[a-z]{2}\b|www\.|[tf] ?\+?\d[\d -]{6,}$|[\w.-]+@[\w-]+\.[a-z.]+$|"
    r"(?:bezoek|post)adres\b)"
)


def sidebar_label(line: str) -> str | None:
    """The colophon label that `line` starts with, as printed ("Ons kenmerk"), or None.

    A label must start the line with an upper-case letter and be followed by its end, a space or a
    colon, so that "datumstempel" or a sentence beginning "Betreft het …" in lower case is not one.
    """
    match = _LABEL.match(line.strip())
    if not match or not match["label"][:1].isupper():
        return None
    return match["label"]


_PERSONAL_LABELS = frozenset({"Inlichtingen", "Contactpersoon"})
"""Labels whose value is a name followed by phone and e-mail lines: only the name joins the label."""
_CONTINUES = re.compile(r"(?:\b(?:van|en|voor|der|de|het|op|t\.a\.v\.)|[,&-])$")


def colophon_fields(blocks: list[list[str]]) -> list[str]:
    """Colophon lines as fields, one per line: a label takes the value lines under it; wrapped names rejoin.

    `blocks` are runs of lines without white space between them. "Kenmerk" over "IENW/BSK-2023/33017"
    becomes "Kenmerk IENW/BSK-2023/33017", also across the extra space the house style puts between a
    label and its value; "Inlichtingen" takes only the name under it, phone and e-mail lines stay apart;
    "Ministerie van" / "Infrastructuur en" / "Waterstaat" become one line because each wraps after a
    word that cannot end a name. A "> " or markdown emphasis around a line is dropped.
    """
    fields: list[str] = []
    waiting: str | None = None
    """A label printed without its value, still to take the next line."""
    for block in blocks:
        taking: str | None = None
        """The label whose (wrapped) value lines this block is still adding."""
        for index, raw in enumerate(block):
            text = " ".join(raw.replace("**", "").strip(" >*_").split())
            if not text:
                continue
            label = sidebar_label(text)
            if label:
                fields.append(text)
                waiting, taking = (label if len(text) <= len(label) + 1 else None), None
            elif waiting or (taking and not _CONTACT.match(text)):
                owner = waiting or taking
                fields[-1] += " " + text
                waiting, taking = None, (owner if owner not in _PERSONAL_LABELS else None)
            elif index and fields and _CONTINUES.search(fields[-1]):
                fields[-1] += " " + text
            else:
                fields.append(text)
    return fields


def is_colophon_line(line: str) -> bool:
    """Whether a line reads like part of a letter's colophon: a label, the sending unit, or an address/contact line."""
    stripped = line.strip(" >*_")
    return bool(sidebar_label(stripped) or _UNIT.match(stripped) or _CONTACT.match(stripped))


# --- de-hyphenation ----------------------------------------------------------------------------

_STEMMER = Stemmer.Stemmer("dutch")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHEN_BREAK = re.compile(r"(?<!\S)(?P<left>\S*[^\W_])-[ \t]*\n(?:[ \t]*\n(?=[ \t]*[^\W\d_A-ZÀ-Þ]))?[ \t]*(?P<right>[^\W_]\S*)")
"""A hyphen at a line end, the whole token before it (a URL must be seen whole) and the next word; a
blank line between them only before a lower-case word, as texts extracted paragraph by paragraph break
"studiefi-" / "nanciering" over two paragraphs. Anchored at a token start to stay linear on long tokens."""
_HYPHEN_SPACE = re.compile(r"(?<!\S)(?P<left>\S*[^\W_])-[ \t]+(?P<right>[^\W\d_A-ZÀ-Þ]\S*)")
"""A line break an earlier extraction already turned into a space: "ontwik- keling"."""
_ELLIPTIC = frozenset({"en", "of", "en/of", "tot", "noch", "als", "dan", "c.q.", "t/m", "resp.", "respectievelijk"})
"""Words after which a line-end hyphen is an elided compound part: "directie-, afdelings- en/of teamniveau"."""
_VOWEL_CLASH = frozenset(
    {"aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "ii", "oe", "oi", "oo", "ou", "ui", "uu", "éé", "ée", "éi"}
)
"""Vowel pairs that Dutch spelling separates with a hyphen in compounds: zee-egel, auto-ongeluk, na-apen."""
_PREFIXES = frozenset({"niet", "ex", "oud", "vice", "non"})
"""First parts written with a hyphen before a word: niet-relevant, oud-minister, ex-partner."""
_COMPOUND_HEADS = frozenset({"generaal", "generaals", "president"})
"""Second parts of the few lower-case compounds always written with a hyphen: secretaris-generaal."""


class Vocabulary:
    """The words a document spells without a line break in them, for judging its line-end hyphens.

    No Dutch word list ships with the project, and a document's own unbroken spellings are the best
    evidence anyway: if it writes "secretaris-generaal" elsewhere the hyphen stays, if it writes
    "ambtelijke" the halves join. Stems (Snowball Dutch) let "ambtelijk" vouch for "ambtelijke".
    Spellings broken at a line end or by "hyphen, space" are left out, so they cannot vouch for themselves.
    """

    def __init__(self, text: str) -> None:
        unbroken = _HYPHEN_SPACE.sub(" ", _HYPHEN_BREAK.sub(" ", text))
        self.words = {word.lower() for word in _WORD.findall(unbroken)}
        self.stems = set(_STEMMER.stemWords(sorted(self.words)))
        self.tails = {word.rsplit("-", 1)[1] for word in self.words if "-" in word}
        """Second parts of the document's hyphenated compounds: "vo-leerlingen" vouches for "po-leerlingen"."""

    def __contains__(self, word: str) -> bool:
        word = word.lower()
        return word in self.words or _STEMMER.stemWord(word) in self.stems


def hyphen_joint(left: str, right: str, vocabulary: Vocabulary | None = None) -> str:
    """What joins `left` and `right` when a line ends in "left-" and the next starts with "right".

    Returns "" (a typesetter's break: "ambte-"+"lijke"), "-" (a real hyphen: "FNV-enquêtes",
    "Noord-Holland", "e-mail", "2023-2024", URLs) or "- " (an elided compound part before
    "en"/"of": "afdelings- en/of"). Unknown lower-case pairs join, as most Dutch line-end hyphens
    come from hyphenation.
    """
    right_word = re.sub(r"[^\w/.]+$", "", right).lower()
    if right_word in _ELLIPTIC:
        return "- "
    lead = re.match(r"[^\W\d_]+", right)
    tail = re.search(r"[^\W\d_]+$", left)
    if not lead or not tail or re.search(r"[/@]|www\.", left):
        return "-"
    first, last = lead.group(), tail.group()
    if first[0].isupper() or last[-1].isupper() or len(last) == 1:
        return "-"
    if vocabulary is not None:
        if f"{last}-{first}".lower() in vocabulary.words:
            return "-"
        if last + first in vocabulary:
            return ""
        if first.lower() in vocabulary.tails:
            return "-"
    if (last[-1] + first[0]).lower() in _VOWEL_CLASH or first.lower() in _COMPOUND_HEADS or last.lower() in _PREFIXES:
        return "-"
    return ""


def dehyphenate(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Join words broken over a line end with a hyphen; decide per break with `hyphen_joint`.

    Also repairs breaks that an earlier extraction turned into "hyphen, space" ("ontwik- keling");
    where the part after the space is a word of its own and the joined form unknown ("zij- instromers")
    the hyphen is kept and the space dropped. Only hyphens, newlines and spaces are touched: no letter
    is added or lost. `vocabulary` defaults to the words of `text` itself.
    """
    vocabulary = vocabulary if vocabulary is not None else Vocabulary(text)

    def at_break(match: re.Match[str]) -> str:
        left, right = match["left"], match["right"]
        return left + hyphen_joint(left, right, vocabulary) + right

    def in_line(match: re.Match[str]) -> str:
        left, right = match["left"], match["right"]
        joint = hyphen_joint(left, right, vocabulary)
        lead = re.match(r"[^\W\d_]+", right)
        if joint == "" and lead and lead.group().lower() in vocabulary.words:
            tail = re.search(r"[^\W\d_]*$", left)
            if (tail.group() if tail else "") + lead.group() not in vocabulary:
                joint = "-"
        return left + joint + right

    return _HYPHEN_SPACE.sub(in_line, _HYPHEN_BREAK.sub(at_break, text))


# --- re-flow -----------------------------------------------------------------------------------

LIST_ITEM = re.compile(r"^(?:[•▪◦●○■□►▶➢✓\-–—*·>]|\(?\d{1,2}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])(?:\s|$)")
"""A line that starts a list item keeps its own line inside the paragraph."""


_OPEN_END = re.compile(r"[^.!?:;…”\"'’)»\]]$")


def reflow(text: str) -> str:
    """Join hard-wrapped lines into paragraphs; paragraphs (blank-line separated) stay apart.

    Runs of spaces collapse to one; a list item ("• …", "1) …", "a. …") starts a new line within its
    paragraph; a line ending in "/" joins the next without a space. A blank line inside a sentence
    (the paragraph before it ends without punctuation and the next begins in lower case) is taken
    for an extraction artefact and closed. The result has paragraphs separated by exactly one blank
    line and no blank paragraph.
    """
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t\f]*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        joined = lines[0]
        for line in lines[1:]:
            joined += ("\n" if LIST_ITEM.match(line) else "" if joined.endswith("/") else " ") + line
        if paragraphs and _OPEN_END.search(paragraphs[-1]) and joined[0].islower():
            paragraphs[-1] += " " + joined
        else:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def clean_page(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Return a page's body text ready for passages: normalised, de-hyphenated and re-flowed.

    Furniture must already be gone (`furniture`, `is_page_number`, `recurring`): after re-flow a stray page
    number would sit inside a sentence where nothing can find it.
    """
    text = normalize(text)
    return reflow(dehyphenate(text, vocabulary if vocabulary is not None else Vocabulary(text)))


def unique_lines(lines: Iterable[str]) -> list[str]:
    """Non-blank lines, stripped, in first-seen order without repeats by `line_key` (a colophon
    recurs on every page)."""
    seen: set[str] = set()
    unique: list[str] = []
    for line in lines:
        key = line_key(line)
        if line.strip() and key not in seen:
            seen.add(key)
            unique.append(line.strip())
    return unique
