"""Typed letter fields from an extraction: who wrote what, when, under which kenmerk or Kamerstuk.

Government letters put their metadata in a colophon (sidebar) of labelled fields, Kamerstukken in
a fixed header and footer, and everything else has to be inferred from the letterhead and the
signature. `parse_letter` reads all of these with plain rules; official metadata that came with the
file (`Extraction.fields`) always wins. It never raises: text without any of this gives empty fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import fields as dataclass_fields
from pathlib import Path

from indexer.colophon import (
    ANY_LABEL,
    HEADER_END,
    LABEL_AT_START,
    clean_kenmerk,
    read_labels,
)
from indexer.dates import letter_date, parse_date
from indexer.ministries import (
    MINISTRIES,
    by_postbus,
    by_slug,
    first_named,
    ministry_in,
    most_named,
)
from indexer.records import DOC_TYPES, DocumentFields, Extraction, LetterFields, Reference
from indexer.references import (
    aanhangsel_key,
    dossier_key,
    find_references,
    kamerstuk_key,
)

TWEEDE_KAMER = "Tweede Kamer der Staten-Generaal"


# --- Kamerstuk header and footer ---------------------------------------------------------------

_FOOTER = re.compile(
    r"(?P<kamer>Tweede|Eerste) Kamer, vergaderjaar (?P<vj>\d{4}[–-]\d{4}), "
    r"(?:(?P<ah>Aanhangsel)|(?P<dossier>\d{2} ?\d{3})(?:[ -](?P<suffix>[IVXLC]+|\d{1,2}|[A-Z])\b)?[^\n]*?, nr\. (?P<nr>\d+))"
)
_OWN_ID = re.compile(
    r"\b(?:kst-(?P<dossier>\d{5})(?:-(?P<suffix>[IVXLC]+|\d{1,2}|[A-Z]))?-(?P<nr>\d+)"
    r"|ah-(?P<house>tk|ek)-(?P<y1>\d{4})(?P<y2>\d{4})-(?P<ah>\d+))\s*\n?\s*ISSN"
)
"""The publication's own id, printed above its ISSN (a cited "kst-…" in a link has no ISSN after it)."""
_HEADER_VJ = re.compile(r"(?mi)^\s*vergaderjaar (\d{4})\s*[–/-]\s*(\d{2,4})\b")
_HEADER_DOSSIER = re.compile(
    r"(?m)^[ \t]*(?P<dossier>\d{2} ?\d{3})(?:[ \t]*-?[ \t]*(?P<suffix>[IVXLC]+|\d{1,2}|[A-Z])\b)?(?:[ \t]*$|[ \t]+[A-Z])"
)
_HEADER_NR = re.compile(r"(?m)^[ \t]*Nr\.[ \t]*(\d+)\b")
_MOTIE_ID_LINE = re.compile(r"(?m)^[ \t]*(?P<dossier>\d{5})(?:-(?P<suffix>[IVXLC]+|\d{2}))?-(?P<nr>\d{1,4})(?:[ \t]|$)")
_AH_NUMBER = re.compile(r"(?m)^[ \t]*(\d{1,5})[ \t]*\n\s*(?:Vragen|Vraag) van")


def _vergaderjaar(first: str, second: str) -> str:
    return f"{first}-{second if len(second) == 4 else first[:2] + second}"


def _parliamentary_ids(text: str, sidebar: str, head: str) -> dict[str, str]:
    """Dossier, ondernummer, vergaderjaar and aanhangsel of a Kamerstuk or Aanhangsel itself, from its
    running footer, its "kst-…"/"ah-tk-…" id above the ISSN, or its header."""
    ids: dict[str, str] = {}
    if footer := _own_footer(text, sidebar):
        ids["vergaderjaar"] = footer["vj"].replace("–", "-")
        if footer["dossier"]:
            ids["dossier"] = dossier_key(footer["dossier"], footer["suffix"])
            ids["ondernummer"] = footer["nr"]
    if own := _OWN_ID.search(sidebar) or _OWN_ID.search(text):
        if own["dossier"]:
            ids.setdefault("dossier", dossier_key(own["dossier"], own["suffix"]))
            ids.setdefault("ondernummer", own["nr"])
        else:
            ids["aanhangsel"] = aanhangsel_key(own["house"], own["y1"], own["y2"], own["ah"])
            ids.setdefault("vergaderjaar", f"{own['y1']}-{own['y2']}")
    if vj := _HEADER_VJ.search(head):
        ids.setdefault("vergaderjaar", _vergaderjaar(vj[1], vj[2]))
        rest = head[vj.end() :]
        if "Aanhangsel van de Handelingen" in rest[:300] and (number := _AH_NUMBER.search(rest)):
            ids.setdefault("aanhangsel", aanhangsel_key("tk", vj[1], _vergaderjaar(vj[1], vj[2])[5:], number[1]))
        elif (dossier := _HEADER_DOSSIER.search(rest[:400])) and (nr := _HEADER_NR.search(rest[:800])):
            ids.setdefault("dossier", dossier_key(dossier["dossier"], dossier["suffix"]))
            ids.setdefault("ondernummer", nr[1])
    if "dossier" not in ids and (motie := _MOTIE_ID_LINE.search(head[:300])):
        ids["dossier"] = dossier_key(motie["dossier"], motie["suffix"])
        ids["ondernummer"] = motie["nr"]
    return ids


def _own_footer(text: str, sidebar: str) -> re.Match[str] | None:
    """The running footer "Tweede Kamer, vergaderjaar …, 36 410 XVI, nr. 137": from the sidebar when the
    extractor put it there, else the one printed most often (every page), the last on a tie, since a
    footnote citing another Kamerstuk in the same words comes before the footer on its page."""
    if footer := _FOOTER.search(sidebar):
        return footer
    found = list(_FOOTER.finditer(text))
    counts = Counter(m.group() for m in found)
    return max(reversed(found), key=lambda m: counts[m.group()], default=None)


def _path_ids(path: Path | None) -> dict[str, str]:
    """Dossier and ondernummer, or aanhangsel, from an official file name ("kst-32545-143.pdf")."""
    if path is None:
        return {}
    name = path.name
    if match := re.match(r"kst-(\d{5})(?:-([IVXLC]+|\d{1,2}|[A-Z]))?-(\d+)\b", name):
        return {"dossier": dossier_key(match[1], match[2]), "ondernummer": match[3]}
    if match := re.match(r"ah-(tk|ek)-(\d{4})(\d{4})-(\d+)\b", name):
        return {
            "aanhangsel": aanhangsel_key(match[1], match[2], match[3], match[4]),
            "vergaderjaar": f"{match[2]}-{match[3]}",
        }
    return {}


# --- document kind, title, people --------------------------------------------------------------

_CAPS = r"[A-ZÀ-ÖØ-ÞĀ-Ž][A-ZÀ-ÖØ-ÞĀ-Ž'’.´-]*(?![\w'’.´-])"
_MOTIE_HEADING = re.compile(
    rf"(?<!\w)((?:NADER )?(?:GEWIJZIGDE )?MOTIE VAN (?:HET LID|DE LEDEN)(?: {_CAPS})+(?:\s*\n[ \t]*\n?[ \t]*EN(?: {_CAPS})+)?)"
)
"""The heading in capitals, "MOTIE VAN HET LID VAN BAARLE C.S.", ending where ordinary words begin."""
_KAMERSTUK_BRIEF = re.compile(
    r"(?m)^[ \t]*(?:Nr\.[ \t]*\d+[ \t]+)?"
    r"(BRIEF VAN DE (?:MINISTERS?|STAATSSECRETARIS(?:SEN)?|MINISTER-PRESIDENT)[^\n]*(?:\n[ \t]*[A-Z ,–-]+$)?)"
)
_QUESTIONS = re.compile(r"(?s)(Vragen? van (?:het lid|de leden) .{5,700}?)\s*\(ingezonden")
_ANSWER = re.compile(r"(?s)Antwoord van (?:de )?(?:[Mm]inister|[Ss]taatssecretaris)[^()]{0,80}\(([^)]{3,80})\)")
_WOO_MARK = re.compile(r"(?<![\d.])(?:5\.1\.[1-5]|5[.,]?1[.,]?2|10\.2)[ .]?[a-i](?![a-z])")
"""Woo/Wob redaction grounds printed over blacked-out text ("5.1.2e", OCR'd as "51.2e")."""
_SIGNATURE_TITLE = re.compile(
    r"(?im)^[ \t]*(?:(?:met (?:een )?vriendelijke groet|hoogachtend),?[ \t]*)?(?:de )?"
    r"((?:minister(?:-president)?|staatssecretaris)(?: van| voor)[^\n]{3,90}?)(?:,?[ \t]*$|,[ \t]{2,})"
)
_NAME_THEN_TITLE = re.compile(
    r"(?m)^[ \t]*((?:[A-Z]\.)+ ?[A-Z][\w'’ -]{1,30}?|[A-Z][a-z]+ [A-Z][\w'’ -]{1,30}?)[ \t]+(?:de[ \t]+)?"
    r"((?:[Mm]inister|[Ss]taatssecretaris)(?:-[Pp]resident)? (?:van|voor) [^\n]{3,80}?),?[ \t]*$"
)
"""A signature printed name first, on one line once the extractor joins it: "M.A.M. Adriaansens Minister van EZK"."""
_CLOSING = re.compile(
    r"(?m)^[ \t]*(?:Met (?:een )?vriendelijke groet|Hoogachtend),?[ \t]*(?:\n[ \t]*)*([^\n]+(?:\n[^\n]+){0,2})"
)
"""The closing and what follows it: on the next lines, or on the same line once lines are joined."""
_VOORZITTER = re.compile(r"(?i)(?:aan )?de voorzitter van de (?:tweede|eerste) kamer\b")
"""The Kamer addressed; "der Staten-Generaal" may be wrapped away or interleaved with the letterhead."""
_ADDRESS_LINE = re.compile(
    r"(?i)^(?:postbus|\d{4} ?[a-z]{2}\b|per e-?mail|www\.|t\.a\.v\.|den haag$|[a-z .'-]+ \d+[a-z]?$)"
)
_UNIT_START = re.compile(
    r"^(?:Directoraat-[Gg]eneraal|Directie|Programmadirectie|Dienst|Afdeling|Eenheid|Inspectie|Agentschap)\b"
)


def _recase(heading: str, names: tuple[str, ...] = ()) -> str:
    """Turn an ALL-CAPS heading into sentence case, keeping the casing of ministries and of `names`."""
    if heading != heading.upper():
        return heading
    result = heading[:1] + heading[1:].lower()
    for name in sorted({*MINISTRIES, *names}, key=len, reverse=True):
        result = re.sub(rf"(?<!\w){re.escape(_plain(name).lower())}(?!\w)", lambda _m, n=name: n, result)
    return result[:1].upper() + result[1:]


def _doc_type(text: str, head: str, labels: dict[str, str], ids: dict[str, str]) -> str | None:
    """Classify by the fixed phrases each kind of document carries in its head."""
    start = head[:3000]
    if _MOTIE_HEADING.search(start):
        return "motie"
    if "Aanhangsel van de Handelingen" in start or ("aanhangsel" in ids and "dossier" not in ids):
        return "antwoord op Kamervragen" if re.search(r"\bAntwoord (?:van|op)\b", text[:6000]) else "Kamervragen"
    if _KAMERSTUK_BRIEF.search(start):
        return "Kamerbrief"
    if re.search(r"(?i)\b(?:woo|wob)-?(?:deel)?besluit\b|besluit op uw (?:woo|wob)-verzoek", start):
        return "Woo-besluit"
    if len(_WOO_MARK.findall(text[:20000])) >= 3:
        return "Woo-document"
    if re.search(
        r"(?m)^\s*TER (?:ONDERTEKENING|BESLUITVORMING|INFORMATIE|BESLISSING)|\(ter beslissing\)|^\s*N ?ota\s*$", start
    ):
        return "beslisnota"
    if re.match(r"\s*Fiche \d+:", text):
        return "BNC-fiche"
    if re.match(r"\s*Toespraak\b", text):
        return "toespraak"
    if _VOORZITTER.search(start):
        return "Kamerbrief"
    decision = r"(?i)\b(?:besluit|beschikking)\b|\b(?:verlening|vaststelling|wijziging)\b.*subsidie"
    if re.search(decision, labels.get("betreft", "")) or re.search(r"(?m)^\s*Besluit\b", start):
        return "besluit"
    if "dossier" in ids:
        return "Kamerstuk"
    if re.search(r"(?mi)^\s*>?\s*Retouradres\b", start) or re.search(r"(?m)^\s*(?:Geachte|Beste)\b", start):
        return "brief"
    return None


_INLINE_SUBJECT = re.compile(
    rf"(?<![\w-])(?:Betreft|Onderwerp)[ \t]*:?[ \t]+([^\n]{{5,200}}?)(?=[ \t]+(?:{ANY_LABEL})\b|[ \t]*(?:\n|$))"
)
"""A subject in the middle of a flattened colophon paragraph: "… Datum 23 januari 2024 Betreft X Bijlagen"."""


def _title(text: str, head: str, labels: dict[str, str], doc_type: str | None) -> str | None:
    """Betreft/onderwerp, else the heading each kind of document uses, else its first heading-like line."""
    if labels.get("betreft"):
        return " ".join(labels["betreft"].split())
    salutation = re.search(r"(?m)^[ \t]*(?:Geachte|Beste |Dear)", head[:3000])
    if subject := _INLINE_SUBJECT.search(head[: salutation.start() if salutation else 3000]):
        return " ".join(subject[1].split())
    if doc_type == "motie" and (motie := _MOTIE_HEADING.search(head)):
        return _recase(" ".join(motie[1].split()), tuple((_indieners(text) or "").split(", ")))
    if doc_type in {"antwoord op Kamervragen", "Kamervragen"} and (questions := _QUESTIONS.search(text[:6000])):
        return " ".join(questions[1].split())
    if brief := _KAMERSTUK_BRIEF.search(head[:3000]):
        return _recase(" ".join(brief[1].split()))
    if doc_type in _TITLED_BY_FIRST_LINE:
        return _first_heading(text)
    return None


_TITLED_BY_FIRST_LINE = {None, "toespraak", "BNC-fiche", "Kamerstuk"}
"""Kinds whose first line is their title (reports, brochures, speeches, fiches, other Kamerstukken);
a letter's first lines are its letterhead, so it gets no title from them."""


def _first_heading(text: str) -> str | None:
    """The first heading-like line, joined with up to two short lines that continue it, less the
    "Toespraak | 07-12-2023" tag rijksoverheid.nl adds."""
    lines: list[str] = []
    for raw in text.splitlines()[:20]:
        line = " ".join(raw.strip(" >*#").split())
        letters = re.findall(r"[^\W\d_]", line)
        heading = 3 <= len(line) <= 200 and len(letters) >= 0.6 * len(line.replace(" ", ""))
        heading = heading and not re.match(r"(?i)retouradres|tweede kamer|inhoud|colofon|uitgave\b", line)
        heading = heading and not LABEL_AT_START.match(line)
        if lines and (not heading or len(line) > 60 or len(" ".join(lines)) >= 40):
            break
        if heading:
            lines.append(line)
    title = re.sub(r"\s+\w+ \| [\d-]+$", "", " ".join(lines))
    return title or None


def _colophon(sidebar: str, text: str) -> str:
    """The letterhead and colophon: the sidebar when the extractor kept it apart, else the text before
    the salutation (at most 1500 characters), where the sending ministry prints its name."""
    if sidebar:
        return sidebar
    end = re.search(r"(?m)^[ \t]*(?:Geachte|Beste |Dear|Hierbij)|(?:Betreft|Onderwerp)\b[^\n]*", text[:1500])
    return text[: end.end() if end else 1500]


def _sender(text: str, colophon: str, doc_type: str | None, labels: dict[str, str]) -> str | None:
    """The sending ministry, from the most to the least telling place: Kamerstuk heading, Kamervragen
    answer, letterhead, the minister a beslisnota is addressed to, signature, Postbus of the return
    address, web and mail addresses, and finally the ministry the text names most."""
    if doc_type in {"motie", "Kamervragen"}:
        return TWEEDE_KAMER
    candidates: list[str | None] = []
    if brief := _KAMERSTUK_BRIEF.search(text[:3000]):
        candidates += [ministry_in(" ".join(brief[1].split()))]
    if answer := _ANSWER.search(text[:6000]):
        candidates.append(ministry_in(answer[1]))
    candidates.append(first_named(colophon))
    if doc_type == "beslisnota" and (to := re.match(r"(?:M|Stas|SG)([A-Za-z]{2,5})\b", labels.get("aan", ""))):
        candidates.append(ministry_in(to[1]))
    signatures = list(_SIGNATURE_TITLE.finditer(text[-3000:])) or list(_NAME_THEN_TITLE.finditer(text[-3000:]))
    candidates += [ministry_in(m.group()) for m in signatures][:1]
    return_address = ["".join(m.group().split()) for m in re.finditer(r"Retouradres[^\n]{0,40}", colophon)]
    candidates += [by_postbus(m[1]) for line in return_address for m in re.finditer(r"Postbus(\d{5})", line)]
    candidates += [by_slug(m[1]) for m in re.finditer(r"(?:rijksoverheid\.nl/|www\.)([a-z]{2,8})\b", colophon)]
    domains = Counter(m[1].lower() for m in re.finditer(r"@(min[a-z]{2,6})\.nl\b", text))
    candidates += [by_slug(domain) for domain, _ in domains.most_common(1)]
    found = next((c for c in candidates if c), None) or most_named(text)
    return f"Ministerie van {found}" if found else None


_NAME_LINE = re.compile(r"(?:(?:drs|dr|mr|ir|prof|ing|mw|mevr|dhr)\.\s*)*[A-Z][\w.'’ -]{1,39}")


def _signed(tail: str, title: re.Match[str]) -> str:
    """One signature: the title line, "namens deze" and function lines, and the name under it
    (or, in templates that print it first, the name above it)."""
    line = re.sub(r"(?i)^\s*(?:met (?:een )?vriendelijke groet|hoogachtend),?\s*", "", title.group())
    written = re.split(rf",?[ \t]{{2,}}|,? (?:{ANY_LABEL})\b", _recase(line.strip()))[0]
    parts = [" ".join(written.split()).rstrip(",")]
    rest = tail[title.end() :].partition("\n")[2]
    for line in [line.strip() for line in rest.splitlines() if line.strip()][:4]:
        if len(line) > 60 or _SIGNATURE_TITLE.match(line):
            break
        if line.endswith(","):
            parts.append(line.rstrip(","))
            continue
        if _NAME_LINE.fullmatch(line):
            parts.append(line)
        break
    before = [line.strip() for line in tail[: title.start()].splitlines() if line.strip()][-1:]
    name_first = not line.strip().lower().startswith("de ")
    if (
        len(parts) == 1
        and name_first
        and before
        and _NAME_LINE.fullmatch(before[0])
        and not re.search(r"\.$|^P ?agina\b", before[0])
    ):
        parts.append(before[0])
    return ", ".join(parts)


_TUSSENVOEGSEL = {"van", "de", "der", "den", "ter", "te", "in", "het", "'t", "’t", "la", "le", "du"}


def _indieners(text: str) -> str | None:
    """The members who signed a motie, under "en gaat over tot de orde van de dag.": one per line, or run
    together on one line, where the names in the heading ("MOTIE VAN DE LEDEN MINHAS EN VAN DER GRAAF")
    show where one name ends and the next begins."""
    end = re.search(r"(?i)en gaat over tot de orde van de dag\.?", text)
    if not end:
        return None
    rest = re.split(r"\bkst-|\bISSN\b|Tweede Kamer,|\n\s*\d{1,2} \w+ \d{4}", text[end.end() : end.end() + 400])[0]
    heading = _MOTIE_HEADING.search(text)
    listed = (
        re.split(r",? EN |, ", re.sub(r"^.*?(?:HET LID|DE LEDEN) | C\.S\.$", "", " ".join(heading[1].split())))
        if heading
        else []
    )
    names: list[str] = []
    for line in [line.strip() for line in rest.splitlines() if line.strip()]:
        words, found = line.split(), []
        while words:
            known = next((n for n in listed if _plain(" ".join(words[: len(n.split())])) == _plain(n)), None)
            size = len(known.split()) if known else _name_length(words)
            if not size:
                break
            found.append(" ".join(words[:size]))
            words = words[size:]
        if words and not words[0][0].isdigit():
            break  # not a line of names (OCR debris, the next paragraph)
        names += found
    return ", ".join(names) or None


def _name_length(words: list[str]) -> int:
    """How many of `words` form the next surname: tussenvoegsels, then one capitalised word."""
    for i, word in enumerate(words[:5]):
        if word.lower() in _TUSSENVOEGSEL:
            continue
        return i + 1 if re.fullmatch(r"[A-ZÀ-Þ][\w'’.-]*", word) and not (len(word) > 1 and word.isupper()) else 0
    return 0


def _plain(name: str) -> str:
    """Upper case without accents, so "Léon de Jong" matches the heading's "LEON DE JONG"."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.upper()) if not unicodedata.combining(c))


def _signatory(text: str, doc_type: str | None) -> str | None:
    """Who signed: the indieners of a motie, the title and name under a letter, or the closing block."""
    if doc_type == "motie":
        return _indieners(text)
    tail = text[-3000:]
    signed = [_signed(tail, title) for title in _SIGNATURE_TITLE.finditer(tail)]
    signed = signed or [f"{m[2]}, {m[1]}" for m in _NAME_THEN_TITLE.finditer(tail)]
    if signed:
        return "; ".join(signed)
    if closing := _CLOSING.search(tail):
        lines = [" ".join(line.split()) for line in closing[1].splitlines() if line.strip()]
        return ", ".join(lines[:3]) or None
    return None


def _addressee(text: str, head: str, labels: dict[str, str], sidebar: str, doc_type: str | None) -> str | None:
    """The Kamer voorzitter, the "Aan:" field, or the address block: under the return address, or, when
    the extractor took the colophon out, the text's first paragraph up to the postal address."""
    if voorzitter := _VOORZITTER.search(head[:4000]):
        return " ".join(voorzitter.group().split()) + " der Staten-Generaal"
    if labels.get("aan"):
        return " ".join(re.split(r"\s(?:Van|Cc|Kopie)\b", labels["aan"])[0].split())[:150]
    if sidebar and doc_type in {"brief", "besluit", "Woo-besluit"}:
        first = text.strip().split("\n\n", 1)[0]
        name = re.split(r"(?i)\s(?:postbus|per e-?mail|t\.a\.v\.)\b|\s\d{4} ?[A-Z]{2}\b", first)[0].strip()
        return name if 0 < len(name) <= 150 and not HEADER_END.match(name) else None
    retour = re.search(r"(?mi)^[ \t*>]*Retouradres\b[^\n]*\n", head[:3000])
    if not retour:
        return None
    names: list[str] = []
    for raw in head[retour.end() :].splitlines()[:12]:
        line = " ".join(raw.strip(" *").split())
        if not line:
            if names:
                break
            continue
        if _ADDRESS_LINE.match(line) or _WOO_MARK.fullmatch(line) or _UNIT_START.match(line) or "www." in line:
            if names:
                break
            continue
        if names and line[:1].islower():
            names[-1] += " " + line
        else:
            names.append(line)
    addressee = ", ".join(names)
    return addressee if 0 < len(addressee) <= 150 else None


def _sender_unit(head: str) -> str | None:
    """The directie or directoraat-generaal named in the letterhead, its wrapped lines joined."""
    lines = [" ".join(line.strip(" *>").split()) for line in head[:3000].splitlines()]
    for i, line in enumerate(lines):
        if _UNIT_START.match(line):
            unit = [line]
            for nxt in lines[i + 1 : i + 5]:
                if (
                    not nxt
                    or _ADDRESS_LINE.match(nxt)
                    or LABEL_AT_START.match(nxt)
                    or re.match(r"(?:De|Aan|Het) |.*\d\d", nxt)
                ):
                    break
                unit.append(nxt)
            return " ".join(unit)[:150]
    return None


_UW_BRIEF = re.compile(
    r"\b(?:[Uu]w|[Jj]ullie|[Jj]e)\s+(?:brief|schrijven|e-?mail|bericht)\s+(?:van|d\.d\.|gedateerd)\s+"
)


def _uw_brief_date(text: str, labels: dict[str, str]) -> str | None:
    """Date of the letter being answered: the "Uw brief van" field, else "In jullie brief van …" in the opening."""
    for field in ("uw_brief_date", "uw_kenmerk"):
        if labels.get(field) and (iso := parse_date(labels[field])):
            return iso
    for match in _UW_BRIEF.finditer(text[:5000]):
        if iso := parse_date(text[match.end() : match.end() + 40]):
            return iso
    return None


# --- the whole letter --------------------------------------------------------------------------

_FIELD_NAMES = {f.name for f in dataclass_fields(DocumentFields)}


def parse_letter(extraction: Extraction, path: Path | None = None) -> LetterFields:
    """Return the letter's typed fields from its sidebar, its text and, winning over both, `extraction.fields`.

    `path` only helps when the file name is an official id ("kst-32545-143.pdf"). Fields that cannot be
    found stay None; arbitrary text never raises.
    """
    text = extraction.text
    sidebar = extraction.sidebar
    head = f"{sidebar}\n{text[:6000]}" if sidebar else text[:6000]
    labels = read_labels(text[:6000])
    labels.update(read_labels(sidebar, sidebar=True))
    ids = {**_path_ids(path), **_parliamentary_ids(text, sidebar, head)}
    doc_type = _doc_type(text, head, labels, ids)
    letter = LetterFields(
        doc_type=doc_type,
        title=_title(text, head, labels, doc_type),
        date=(parse_date(labels["datum"]) if labels.get("datum") else None)
        or letter_date(sidebar)
        or letter_date(text[:8000]),
        sender=_sender(text, _colophon(sidebar, text), doc_type, labels),
        sender_unit=_sender_unit(head),
        signatory=_signatory(text, doc_type),
        addressee=_addressee(text, head, labels, sidebar, doc_type),
        kenmerk=clean_kenmerk(labels["kenmerk"]) if labels.get("kenmerk") else None,
        uw_kenmerk=clean_kenmerk(labels["uw_kenmerk"])
        if labels.get("uw_kenmerk") and not parse_date(labels["uw_kenmerk"])
        else None,
        uw_brief_date=_uw_brief_date(text, labels),
        **ids,
    )
    for name in _FIELD_NAMES:
        setattr(letter, name, _checked(name, getattr(letter, name)))
    for name, value in extraction.fields.items():
        if name in _FIELD_NAMES and (value := _checked(name, value)):
            setattr(letter, name, value)
    letter.references = _cited(text, letter)
    return letter


MAX_FIELD_CHARS = 500
"""Longest metadata value kept (cut at a word with "…"). Over the 629 documents of the shared corpus
the longest values are a title of 330 characters (a subsidy decision's) and a signatory of 434 (a
mail disclaimer read as one), so nothing real is cut; a value of a megabyte (a hostile metadata.xml,
a page of text without line breaks) would otherwise be stored and printed with every hit."""


def _bounded(value: str) -> str:
    if len(value) <= MAX_FIELD_CHARS:
        return value
    cut = value.rfind(" ", MAX_FIELD_CHARS // 2, MAX_FIELD_CHARS)
    return value[: cut if cut > 0 else MAX_FIELD_CHARS] + "…"


_VERGADERJAAR = re.compile(r"(\d{4})-(\d{4})")


def _checked(name: str, value: str | None) -> str | None:
    """`value` held to its field's form, whatever its source (text, sidebar, official metadata), or
    None when it does not fit: dates real ISO dates, the type a known one, the session year
    "2023-2024", text on one line and bounded. A value that fails is dropped, never stored as a date
    it is not; an official value that fails leaves what the text said."""
    if value is None:
        return None
    value = _bounded(" ".join(value.split()))
    if name in ("date", "uw_brief_date"):
        return parse_date(value)
    if name == "doc_type":
        return value if value in DOC_TYPES else None
    if name == "vergaderjaar":
        match = _VERGADERJAAR.fullmatch(value)
        return value if match and int(match[2]) == int(match[1]) + 1 else None
    return value or None


def _cited(text: str, letter: LetterFields) -> list[Reference]:
    """References in the text, less the document's own Kamerstuk, Aanhangsel and kenmerk."""
    own = set()
    if letter.dossier and letter.ondernummer:
        own.add(("kamerstuk", kamerstuk_key(letter.dossier, letter.ondernummer)))
    if letter.aanhangsel:
        own.add(("aanhangsel", letter.aanhangsel))
    own_kenmerk = re.sub(r"\s", "", letter.kenmerk or "")
    return [
        ref
        for ref in find_references(text)
        if (ref.kind, ref.value) not in own
        and not (ref.kind == "kenmerk" and own_kenmerk and ref.value.replace(" ", "") in own_kenmerk)
    ]
