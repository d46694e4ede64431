"""References and identifiers: find them in letters and in queries, one normal form.

Letters cite parliamentary papers in many spellings ("Kamerstuk 32 545, nr. 143", "Kamerstukken II
2022/23, 36 200 VII, nr. 5", "Kamerstuk 36 410-XVI, nr. 137", "(Kamerstukken 29 544 en 31 311)").
Search has to match a query typed in yet another spelling, so both sides reduce a reference to the
same key: kamerstuk "36410-XVI:137", dossier "36410-XVI", aanhangsel "ah-tk-20232024-1314".
The other kinds a clerk types, with their keys: TK zaak "2024Z02422" (zaak- and documentnummers of
the Tweede Kamer), EU document "COM(2021) 726" (COM, SWD, SEC, JOIN), ECLI "ECLI:NL:RVS:2023:1234",
Staatsblad "stb-2015-511" and Staatscourant "stcrt-2022-7656" (the officielebekendmakingen ids),
Woo document "615067" ("VWS-WOO-615067", "Woo-document 615067"), and kenmerk as printed.
Text extracted from PDFs sometimes spaces digits apart ("2 9 240"), so numbers tolerate single spaces.
"""

from __future__ import annotations

import re

from indexer.records import Reference

_SP = r"[ \t\u00a0]"
_DOSSIER_NR = rf"\d(?:{_SP}?\d){{4}}(?!\w)"
"""A five-digit dossier number, printed "36 410", "36410" or, from a poor text layer, "3 6 410"."""
_SUFFIX = rf"(?:{_SP}?[-–]{_SP}?(?:[IVXLC]+|\d{{1,2}}|[A-Z])(?![\w-])|{_SP}(?:[IVXLC]+|[A-Z])(?![\w.-]))"
"""Begroting chapter or sub-dossier: "36 410 XVI", "36410-XVI", "21 501-32", "36 200 A"."""
_DOSSIER = rf"(?P<dossier>{_DOSSIER_NR})(?P<suffix>{_SUFFIX})?"
_NUMBER = rf"(?:\d{_SP}\d{{2,3}}|\d{{1,4}})(?!\d)[A-Za-z]?(?![\w-])"
"""An ondernummer; "1 11" is read as 111 because poor text layers space the first digit off."""
_NUMBERS = rf"{_NUMBER}(?:{_SP}*(?:,|en|t/m|tot en met|-|–){_SP}*{_NUMBER}(?!{_SP}?\d))*"
_NR = rf"(?:,?{_SP}*(?i:nrs?|nummers?)\.?{_SP}*(?P<nrs>{_NUMBERS}))"
_CO_DOSSIERS = rf"(?P<co>(?:{_SP}*/{_SP}*{_DOSSIER_NR}(?:{_SUFFIX})?)*)"
_YEAR = rf"(?:(?:,?{_SP}*vergaderjaar)?,?{_SP}*(?:19|20)\d\d{_SP}?[/–-]{_SP}?(?:(?:19|20)\d\d|\d\d))"
_CHAMBER = rf"(?:{_SP}+(?:I{{1,2}}|EK|TK)(?![\w]))"

_KAMERSTUK_HEAD = re.compile(rf"\bKamerstuk(?:ken)?{_CHAMBER}?{_YEAR}?,?{_SP}*")
_DOSSIER_ITEM = re.compile(rf"{_DOSSIER}{_CO_DOSSIERS}{_NR}?")
_CO_DOSSIER = re.compile(_DOSSIER)
_ITEM_JOIN = re.compile(rf"{_SP}*(?:,|;|en|/|&){_SP}*(?:(?:Kamerstuk(?:ken)?|nr\.?){_SP}+)?")
_PARL_ID = re.compile(
    r"\bkst-(?P<dossier>\d{4,6})(?:-(?P<suffix>[IVXLC]+|\d{1,2}|[A-Z]))?-(?P<nr>\d{1,4})\b", re.IGNORECASE
)
_AANHANGSEL = re.compile(
    rf"\bAanhangsel(?:{_SP}+van{_SP}+de)?{_SP}+(?:Handelingen|Hand\.)(?P<chamber>{_CHAMBER})?"
    rf",?{_SP}*(?:vergaderjaar{_SP}*)?(?P<y1>(?:19|20)\d\d){_SP}?[/–-]{_SP}?(?P<y2>(?:19|20)?\d\d)"
    rf",?{_SP}*(?:nr|nummer)s?\.?{_SP}*(?P<nr>\d+)"
)
_AH_ID = re.compile(r"\bah-(?P<chamber>tk|ek)-(?P<y1>\d{4})(?P<y2>\d{4})-(?P<nr>\d{1,5})\b", re.IGNORECASE)

_TK_ZAAK = r"\d{4}[ZD]\d{5}"
"""Tweede Kamer zaak- and documentnummers, "2024Z00446", "2022D25169"."""
_KENMERK_TOKEN = r"[A-Z0-9][A-Za-z0-9&./_-]*\d[A-Za-z0-9&./_-]*"
_UNLABELLED_KENMERK = rf"(?:{_TK_ZAAK}|\d{{4}}-\d{{7,12}}|\d{{5,8}}-\d{{5,8}}-[A-Z]{{2,5}}|[A-Z][A-Za-z&]{{1,9}}/[A-Za-z&]+[-/][A-Za-z0-9/-]*\d{{3,}})"
"""Kenmerk shapes distinctive enough to recognise without a label: TK zaaknummers, Financiën
"2022-0000088502", VWS "1739903-209722-PG", "IENW/BSK-2023/33017"."""
_KENMERK_IN_TEXT = re.compile(
    rf"(?:\b(?:[Kk]enmerk|[Rr]eferentie|[Zz]aaknummer)(?:en)?{_SP}*:?{_SP}*(?:nr\.?{_SP}*)?(?P<labelled>{_KENMERK_TOKEN})"
    rf"|(?<![\w/-])(?P<bare>{_UNLABELLED_KENMERK})(?![\w/]))"
)

_ZAAK = re.compile(rf"(?<![\w/-]){_TK_ZAAK}(?![\w/])", re.IGNORECASE)
_EU_DOCUMENT = re.compile(
    rf"\b(?P<series>(?i:COM|SWD|SEC|JOIN)){_SP}?(?:\({_SP}?(?P<year>(?:19|20)\d\d){_SP}?\)|/(?P<year2>(?:19|20)\d\d)/|{_SP}(?P<year3>(?:19|20)\d\d){_SP})"
    rf"{_SP}?(?P<nr>\d{{1,4}})(?!\d)"
)
"""European Commission documents: "COM(2021) 726", "SWD (2022) 546", EUR-Lex "COM/2021/0726", typed "COM 2021 726"."""
_ECLI = re.compile(r"\bECLI:[A-Z]{2}:[A-Z0-9]{1,7}:\d{4}:[A-Z0-9.]{1,25}(?<!\.)", re.IGNORECASE)
_GAZETTE = re.compile(
    rf"\b(?P<name>Stb|Staatsblad|Stcrt|Staatscourant)\.?,?{_SP}*(?P<year>(?:18|19|20)\d\d),?{_SP}*(?:(?:nr|nummer)\.?{_SP}*)?(?P<nr>\d{{1,6}})(?![\d-])"
    rf"|\b(?P<id>stb|stcrt)-(?P<id_year>(?:18|19|20)\d\d)-(?P<id_nr>\d{{1,6}})\b",
    re.IGNORECASE,
)
"""Staatsblad and Staatscourant: "Stb. 2015, 511", "Staatscourant 2022, nr. 7656", "stcrt-2022-7656"."""
_WOO = re.compile(
    rf"\b(?:[A-Z]{{2,6}}-WOO-|Woo-?{_SP}?document(?:nummer|nr\.?)?{_SP}*:?{_SP}*)(?P<nr>\d{{4,8}})(?!\d)", re.IGNORECASE
)
"""Woo document numbers: "VWS-WOO-615067" (file names, running headers), "Woo-document 615067"."""


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _suffix(s: str | None) -> str:
    """Return "-XVI" for " XVI", "-XVI", "–XVI" or "" when there is none."""
    return "-" + re.sub(r"[\s\u00a0\-–]", "", s).upper() if s and s.strip(" \t\u00a0-–") else ""


def dossier_key(number: str, suffix: str | None = None) -> str:
    """Return the normal dossier key, "36410-XVI", from its number and chapter as printed."""
    return _digits(number) + _suffix(suffix)


def kamerstuk_key(dossier: str, nr: str) -> str:
    """Return the normal Kamerstuk key, "36410-XVI:137", from a normal dossier key and a number."""
    return f"{dossier}:{re.sub(r'[^0-9A-Za-z]', '', nr).upper()}"


def normalise_dossier(s: str) -> str | None:
    """Return "36410-XVI" for "36 410 XVI", "Kamerstuk 36410-XVI, nr. 5", "dossier 36 410-xvi"; None if no dossier."""
    found = [r for r in find_identifiers(s) if r.kind in {"kamerstuk", "dossier"}]
    return found[0].value.split(":")[0] if found else None


def normalise_kamerstuk(s: str) -> str | None:
    """Return "36410-XVI:137" for "36 410 XVI nr. 137", "Kamerstuk 36 410-XVI, nr. 137", "kst-36410-XVI-137",
    "36410-XVI:137"; None when `s` names no dossier with a number."""
    found = [r for r in find_identifiers(s) if r.kind == "kamerstuk"]
    return found[0].value if found else None


def aanhangsel_key(chamber: str, year1: str, year2: str, nr: str) -> str:
    """Return "ah-tk-20232024-1314" from chamber ("II"/"tk"/"I"/"ek"), the vergaderjaar and the number."""
    house = "ek" if chamber.strip().upper() in {"I", "EK"} else "tk"
    y2 = year2 if len(year2) == 4 else year1[:2] + year2
    return f"ah-{house}-{year1}{y2}-{int(nr)}"


def _numbers(text: str) -> list[str]:
    """Expand "130 en 131", "5, 6", "12 t/m 14" into the single numbers (ranges up to 50 long)."""
    numbers: list[str] = []
    parts = re.split(rf"{_SP}*(,|en|t/m|tot en met|-|–){_SP}*", text)
    for i in range(0, len(parts), 2):
        number = re.sub(rf"{_SP}", "", parts[i])
        if (
            i >= 2
            and parts[i - 1] in {"t/m", "tot en met", "-", "–"}
            and number.isdigit()
            and numbers
            and numbers[-1].isdigit()
        ):
            start, end = int(numbers[-1]), int(number)
            if 0 < end - start <= 50:
                numbers.extend(str(n) for n in range(start + 1, end + 1))
                continue
        numbers.append(number)
    return numbers


def _kamerstuk_items(text: str, head: re.Match[str]) -> list[Reference]:
    """Read the dossiers, with their numbers, that follow a "Kamerstuk(ken)" head."""
    refs: list[Reference] = []
    pos = head.end()
    while item := _DOSSIER_ITEM.match(text, pos):
        dossiers = [dossier_key(item["dossier"], item["suffix"])]
        dossiers += [dossier_key(co["dossier"], co["suffix"]) for co in _CO_DOSSIER.finditer(item["co"])]
        words = text[head.start() if not refs else item.start() : item.end()]
        if item["nrs"]:
            refs += [
                Reference("kamerstuk", kamerstuk_key(d, nr), words) for d in dossiers for nr in _numbers(item["nrs"])
            ]
        else:
            refs += [Reference("dossier", d, words) for d in dossiers]
        joiner = _ITEM_JOIN.match(text, item.end())
        if not joiner:
            break
        pos = joiner.end()
    return refs


def _clean_kenmerk(token: str) -> str:
    return token.rstrip(".,;:)/-")


def find_references(text: str) -> list[Reference]:
    """Return the Kamerstukken, dossiers, Aanhangsels and kenmerken that `text` cites, in reading order.

    Duplicates (same kind and value) are kept once, with the words of their first occurrence.
    Never raises: text without references gives an empty list.
    """
    found: list[tuple[int, Reference]] = []
    for head in _KAMERSTUK_HEAD.finditer(text):
        found += [(head.start(), r) for r in _kamerstuk_items(text, head)]
    for match in _PARL_ID.finditer(text):
        dossier = dossier_key(match["dossier"], match["suffix"])
        found.append((match.start(), Reference("kamerstuk", kamerstuk_key(dossier, match["nr"]), match.group())))
    for match in list(_AANHANGSEL.finditer(text)) + list(_AH_ID.finditer(text)):
        key = aanhangsel_key(match["chamber"] or "tk", match["y1"], match["y2"], match["nr"])
        found.append((match.start(), Reference("aanhangsel", key, match.group())))
    for match in _KENMERK_IN_TEXT.finditer(text):
        token = _clean_kenmerk(match["labelled"] or match["bare"])
        if len(_digits(token)) >= 4 and not re.fullmatch(r"(?:19|20)\d\d", token):
            found.append((match.start(), Reference("kenmerk", token, match.group().strip())))
    found += [(m.start(), r) for m, r in _other_identifiers(text)]
    return _unique(sorted(found, key=lambda item: item[0]))


def _other_identifiers(text: str) -> list[tuple[re.Match[str], Reference]]:
    """TK zaak numbers, EU documents, ECLIs, Staatsblad/Staatscourant and Woo document numbers.

    A zaak number is also a kenmerk (letters answer "Uw kenmerk 2024Z04567", and `related` links
    them by it), so it is reported under both kinds."""
    found = [(m, Reference("zaak", m.group().upper(), m.group())) for m in _ZAAK.finditer(text)]
    for m in _EU_DOCUMENT.finditer(text):
        year = m["year"] or m["year2"] or m["year3"]
        found.append((m, Reference("eu", f"{m['series'].upper()}({year}) {int(m['nr'])}", m.group())))
    found += [(m, Reference("ecli", m.group().upper(), m.group())) for m in _ECLI.finditer(text)]
    for m in _GAZETTE.finditer(text):
        name, year, nr = (m["name"], m["year"], m["nr"]) if m["name"] else (m["id"], m["id_year"], m["id_nr"])
        kind, prefix = ("staatsblad", "stb") if name.lower().startswith(("stb", "staatsb")) else ("staatscourant", "stcrt")
        found.append((m, Reference(kind, f"{prefix}-{year}-{int(nr)}", m.group())))
    found += [(m, Reference("woo", str(int(m["nr"])), m.group())) for m in _WOO.finditer(text)]
    return found


def _unique(found: list[tuple[int, Reference]]) -> list[Reference]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for _, ref in found:
        if (ref.kind, ref.value) not in seen:
            seen.add((ref.kind, ref.value))
            unique.append(ref)
    return unique


_QUERY_KAMERSTUK = re.compile(rf"(?<![\w-]){_DOSSIER}(?:{_NR}|{_SP}*:{_SP}*(?P<colon>\d{{1,4}}))")
_QUERY_COMPACT_KAMERSTUK = re.compile(
    r"(?<![\w/-])(?P<dossier>[1-3]\d{4})(?:-(?P<suffix>[IVXLC]+|[A-Z]|\d{1,2})-(?P<nr>\d{1,4})|-(?P<long_nr>\d{3,4}))(?![\w/-])"
)
"""The Tweede Kamer's compact id without "kst-": "36410-V-68", "21501-32-1505", "31409-389"; "21501-20"
is the sub-dossier, as two parts with a short second number are."""
_QUERY_KEYED_DOSSIER = re.compile(rf"(?i:\bdossier(?:nummer)?\b){_SP}*:?{_SP}*{_DOSSIER}")
_QUERY_BARE_DOSSIER = re.compile(
    rf"(?<![\w/.,-])(?<!Postbus )(?<!postbus )(?<!€ )(?<!€)(?P<dossier>[1-3]\d{{4}}|[1-3]\d{_SP}\d{{3}})(?P<suffix>{_SUFFIX})?(?![\w/.,-])"
)
"""A bare dossier number in a query (10000–39999, the range dossiers have), not a Postbus or an amount."""
_QUERY_KENMERK = re.compile(
    r"(?<![\w&./–-])[A-Za-z0-9](?:[A-Za-z0-9&./_–-]|[ \t\u00a0][–-][ \t\u00a0])*[A-Za-z0-9](?![\w&/–-])"
)
"""A token of a query shaped like a kenmerk or reference number: letters, digits and the marks they
are joined with, a dash with spaces around it included ("DGBI – I&K/26844711" as a letter prints it).
`find_identifiers` keeps a number of six to twelve digits, and a token with four digits or more that
is not part of an identifier it recognised otherwise, nor a date, a span of years, an amount
("5.600.000") or a web address or placeholder ("2021.xxx")."""
_NO_KENMERK = re.compile(
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(?:19|20)\d\d(?:[-/–](?:19|20)?\d\d)?|\d{1,3}(?:\.\d{3})+(?:,\d+)?|.*\.[a-z]{2,}.*"
)


def _query_references(query: str) -> list[Reference]:
    """References that only a query spells: "36410-XVI:137", "36410-XVI-137", "36 410 XVI nr. 137" without
    the word Kamerstuk."""
    refs = []
    for match in _QUERY_KAMERSTUK.finditer(query):
        dossier = dossier_key(match["dossier"], match["suffix"])
        nrs = _numbers(match["nrs"]) if match["nrs"] else [match["colon"]]
        refs += [Reference("kamerstuk", kamerstuk_key(dossier, nr), match.group()) for nr in nrs]
    for match in _QUERY_COMPACT_KAMERSTUK.finditer(query):
        dossier = dossier_key(match["dossier"], match["suffix"])
        refs.append(Reference("kamerstuk", kamerstuk_key(dossier, match["nr"] or match["long_nr"]), match.group()))
    for match in _QUERY_KEYED_DOSSIER.finditer(query):
        refs.append(Reference("dossier", dossier_key(match["dossier"], match["suffix"]), match.group()))
    return refs


def find_identifiers(query: str) -> list[Reference]:
    """Return the exact identifiers a search query contains, for exact-match lookup beside the text search.

    Besides everything `find_references` recognises, a query may hold bare forms: "36410-XVI:137",
    "36 410 XVI nr. 137", a five-digit dossier number "36410", or without the word kenmerk any token
    shaped like one: "2022-0000088502", "5687928/11", "DGA-PAV/21286882", "1747084-210433-PDC19", a
    long number "40855060". The result is a superset to look up, not a filter: a token that names
    nothing ("30-05-2023", "2022/23") simply matches no stored key. Before, 4 of the corpus's 34 own
    kenmerken typed bare found nothing (bench/identifier_sweep.py).
    """
    query = re.sub(r"(?<=\d)([ \t\u00a0]?[-–]?[ \t\u00a0]?)([ivxlc]+)\b", lambda m: m[1] + m[2].upper(), query)
    refs = find_references(query) + _query_references(query)
    numbers = {_digits(r.value.split(":")[0].split("-")[0]) for r in refs if r.kind in {"kamerstuk", "dossier"}}
    for match in _QUERY_BARE_DOSSIER.finditer(query):
        key = dossier_key(match["dossier"], match["suffix"])
        if _digits(match["dossier"]) not in numbers:
            refs.append(Reference("dossier", key, match.group()))
    recognised = " ".join(r.text for r in refs)
    for match in _QUERY_KENMERK.finditer(query):
        token = match.group()
        if token.isdigit():
            wanted = 6 <= len(token) <= 12  # a Woo document number is also looked up where it is printed
        else:  # not a part of what was recognised ("501-20" of "21 501-20, nr. 1913")
            wanted = len(_digits(token)) >= 4 and token not in recognised and not _NO_KENMERK.fullmatch(token)
        if wanted:
            refs.append(Reference("kenmerk", token, token))
    return _unique(list(enumerate(refs)))
