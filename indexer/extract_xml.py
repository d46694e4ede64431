"""officielebekendmakingen XML: body text and the official metadata that comes with it.

A publication on officielebekendmakingen.nl (Kamerstuk, Aanhangsel, bijlage) is downloaded as one
folder per version, holding the same document several times plus its metadata:

    kst-32545-143/1/xml/kst-32545-143.xml           the text, structured (ingestable)
    kst-32545-143/1/pdf/kst-32545-143.pdf           the same text, paginated (ingestable)
    kst-32545-143/1/html/…, odt/…                   other renderings (not read by the archive)
    kst-32545-143/1/metadata/metadata.xml           official metadata (dossier, nr, date, type …)
    kst-32545-143/1/metadataowms/metadata_owms.xml  the same metadata in OWMS form

One publication must become one document. The PDF is preferred because citations point at pages
(`file.pdf#page=N`) and the XML has no page breaks; the XML is ingested only when no PDF of the
publication is among the files. Metadata records are never documents: `sidecar_files` names every
file to leave out, and `official_fields` reads metadata.xml for whichever rendering is ingested, so
the PDF carries the same official fields as the XML would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from indexer.errors import ExtractError
from indexer.records import Extraction, Page
from indexer.references import aanhangsel_key, normalise_dossier

PUBLICATION_ROOT = "officiele-publicatie"
RENDERING_PREFERENCE = (".pdf", ".xml")
"""Renderings of one publication, best first; only the first one present is ingested."""

_BLOCKS = {
    "al",
    "tekstregel",
    "titel",
    "stuknr",
    "datumtekst",
    "dossiernr",
    "kamervraagnummer",
    "kamervraagomschrijving",
    "nr",
    "tussenkop",
    "regel",
    "entry",
    "li",
    "ondertekening",
    "functie",
    "naam",
    "aanhef",
    "slotformulering",
    "wie",
    "opschrift",
}
"""Elements whose text is one paragraph; nested blocks inside them are read as part of the outer one."""
_SKIP = {"metadata", "meta"}

_DOC_TYPES = {
    "Motie": "motie",
    "Brief": "Kamerbrief",
    "Antwoord": "antwoord op Kamervragen",
    "Vragen": "Kamervragen",
    "Bijlage": "bijlage",
}
_SELF_AUTHORED = {"motie", "Kamervragen", "amendement"}
"""Document types written by the Kamer itself, so DC.creator (the Kamer) is their sender; for a
Kamerbrief or an answer DC.creator names only the publishing Kamer, not the sending ministry."""


def extract_xml(path: Path) -> Extraction:
    """Return the publication's text as one page and its official metadata in `Extraction.fields`.

    Raise ExtractError when the file is not well-formed XML or not an officielebekendmakingen
    publication (a metadata record, an SRU listing, an API response).
    """
    try:
        root = etree.parse(
            str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        ).getroot()
    except (etree.XMLSyntaxError, OSError) as error:
        raise ExtractError(f"not readable as XML: {error}") from error
    if etree.QName(root).localname != PUBLICATION_ROOT:
        raise ExtractError(f"not an officielebekendmakingen publication: root element <{etree.QName(root).localname}>")
    paragraphs = [p for p in (_paragraph(block) for block in _blocks(root)) if p]
    fields = {**_fields_from_publication(root), **official_fields(path)}
    return Extraction(pages=[Page(1, "\n\n".join(paragraphs))], fields=fields)


def _blocks(root: etree._Element) -> Iterable[etree._Element]:
    """Outermost block elements in document order, skipping the embedded metadata."""
    stack = [root]
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str) or etree.QName(element).localname in _SKIP:
            continue
        if etree.QName(element).localname in _BLOCKS:
            yield element
        else:
            stack.extend(reversed(element))


def _paragraph(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _fields_from_publication(root: etree._Element) -> dict[str, str]:
    """Fields the publication states about itself: dossier, number, vergaderjaar, date."""
    fields: dict[str, str] = {}
    if (dossier := root.findtext(".//dossiernr")) and (found := normalise_dossier(dossier)):
        fields["dossier"] = found
    if ondernummer := root.findtext(".//ondernummer"):
        fields["ondernummer"] = ondernummer.strip()
    for line in root.iterfind(".//tekstregel[@inhoud='vergaderjaar']"):
        if match := re.search(r"(\d{4})\s*[–-]\s*(\d{4})", "".join(line.itertext())):
            fields["vergaderjaar"] = f"{match[1]}-{match[2]}"
    dates = [d.get("isodatum") for d in root.iterfind(".//datumtekst/datum")]
    dates += [d.get("isodatum") for d in root.iterfind(".//kamervraagomschrijving[@type='antwoord']//datum")]
    dates += [d.get("isodatum") for d in root.iterfind(".//kamervraagomschrijving[@type='vraag']//datum")]
    if dates := [d for d in dates if d and re.fullmatch(r"\d{4}-\d\d-\d\d", d)]:
        fields["date"] = dates[0]
    number = root.findtext(".//kamervraagnummer")
    if number and number.strip().isdigit() and "vergaderjaar" in fields:
        first, second = fields["vergaderjaar"].split("-")
        fields["aanhangsel"] = aanhangsel_key("tk", first, second, number.strip())
    return fields


def metadata_record(path: Path) -> Path | None:
    """Return the metadata.xml of the publication `path` renders (…/1/pdf/x.pdf → …/1/metadata/metadata.xml)."""
    record = path.parent.parent / "metadata" / "metadata.xml"
    return record if record.is_file() and record != path else None


def official_fields(path: Path) -> dict[str, str]:
    """Return LetterFields values from the official metadata.xml beside `path`'s rendering folder, or {}.

    An unreadable metadata record gives {}: the document is still ingested from its text.
    """
    record = metadata_record(path)
    if record is None:
        return {}
    try:
        root = etree.parse(str(record), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (etree.XMLSyntaxError, OSError):
        return {}
    meta: dict[str, list[str]] = {}
    for element in root.iter("metadata"):
        name, content = element.get("name"), (element.get("content") or "").strip()
        if name and content:
            meta.setdefault(name, []).append(content)
    return _letter_fields(meta)


def _letter_fields(meta: dict[str, list[str]]) -> dict[str, str]:
    """Map OEP metadata names onto LetterFields attribute names."""
    first = {name: values[0] for name, values in meta.items()}
    fields: dict[str, str] = {}
    if title := first.get("OVERHEIDop.documenttitel") or first.get("DC.title"):
        fields["title"] = title
    if date := first.get("DCTERMS.issued") or first.get("OVERHEIDop.datumOntvangst"):
        fields["date"] = date[:10]
    kinds = [k for k in meta.get("DC.type", []) if k in _DOC_TYPES]
    if kinds:
        fields["doc_type"] = _DOC_TYPES[kinds[0]]
    if fields.get("doc_type") in _SELF_AUTHORED and first.get("DC.creator"):
        fields["sender"] = first["DC.creator"]
    if (indieners := meta.get("OVERHEIDop.indiener")) and fields.get("doc_type") in _SELF_AUTHORED:
        fields["signatory"] = ", ".join(indieners)
    if first.get("OVERHEIDop.dossiernummer") and (dossier := normalise_dossier(first["OVERHEIDop.dossiernummer"])):
        fields["dossier"] = dossier
    if (nr := first.get("OVERHEIDop.ondernummer")) and fields.get("doc_type") != "bijlage":
        fields["ondernummer"] = nr
    if year := first.get("OVERHEIDop.vergaderjaar"):
        fields["vergaderjaar"] = year.replace("–", "-")
    identifier = first.get("DC.identifier", "")
    if match := re.fullmatch(r"ah-(tk|ek)-(\d{4})(\d{4})-(\d+)", identifier):
        fields["aanhangsel"] = aanhangsel_key(match[1], match[2], match[3], match[4])
    return fields


def sidecar_files(files: Iterable[Path]) -> set[Path]:
    """Return the files among `files` that must not be ingested as documents of their own.

    These are metadata records (metadata.xml, metadata_owms.xml, PLOOI manifest.xml, and any XML
    that is not an officielebekendmakingen publication: SRU listings, API responses), and every
    rendering of a publication whose preferred rendering (`RENDERING_PREFERENCE`) is also in `files`.
    """
    files = list(files)
    sidecars = {f for f in files if f.suffix.lower() == ".xml" and _root_name(f) not in {PUBLICATION_ROOT, None}}
    by_publication: dict[tuple[Path, str], list[Path]] = {}
    for f in files:
        if f not in sidecars and f.suffix.lower() in RENDERING_PREFERENCE and _in_rendering_folder(f):
            by_publication.setdefault((f.parent.parent, f.stem), []).append(f)
    for renderings in by_publication.values():
        renderings.sort(key=lambda f: RENDERING_PREFERENCE.index(f.suffix.lower()))
        sidecars.update(renderings[1:])
    return sidecars


def _in_rendering_folder(path: Path) -> bool:
    """Whether `path` lies in the OEP layout's per-format folder (…/1/pdf/x.pdf, …/1/xml/x.xml)."""
    return path.parent.name.lower() == path.suffix.lower().lstrip(".")


def _root_name(path: Path) -> str | None:
    """The XML file's root element name, reading no further; None when it cannot be parsed, so that
    extraction reports the broken file instead of it vanishing as a sidecar."""
    try:
        for _, element in etree.iterparse(str(path), events=("start",), resolve_entities=False, no_network=True):
            return etree.QName(element).localname
    except (etree.XMLSyntaxError, OSError):
        return None
    return None
