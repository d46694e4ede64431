"""How well `parse_letter` recovers letter fields, measured on the corpus manifest and a hand-checked set.

For every manifest document that states a date, sender, kenmerk, dossier, stuknummer, vergaderjaar or
Aanhangsel id, the document is extracted and parsed, and each field is counted as found, correct or
wrong, per group: born-digital letters, other born-digital documents (reports, brochures, speeches,
fiches), moties and Woo documents. The real extractors
(indexer/extract_pdf.py, indexer/extract_text.py) are used when they exist; otherwise PDFs are read
from the corpus's pdftotext output (reference_text/) and the run says so.

The hand-checked set (tests/fixtures/fields_handchecked.jsonl) holds values read off the documents
themselves, for fields the manifest lacks (kenmerk, uw_brief_date, doc_type, signatory …).

Usage: python bench/fields.py [--shared ../shared] [--examples 15] [--reference-text]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.extract_xml import official_fields  # noqa: E402
from indexer.letters import parse_letter  # noqa: E402
from indexer.ministries import normalise_sender  # noqa: E402
from indexer.records import Extraction, LetterFields, Page  # noqa: E402
from indexer.references import normalise_dossier  # noqa: E402

MANIFEST_FIELDS = {
    "date": "date",
    "sender": "sender",
    "kenmerk": "kenmerk",
    "dossier": "dossier",
    "stuknummer": "ondernummer",
    "vergaderjaar": "vergaderjaar",
    "officiele_publicatie_id": "aanhangsel",
}
"""Manifest key → LetterFields attribute it is compared with."""
GROUPS = {
    "moties": "moties",
    "woo_vws_testdossiers": "Woo",
    "woo_vws_besluit": "Woo",
}
"""Collections with a group of their own; the rest is born-digital, split by the manifest's doc_type."""
LETTER_TYPES = re.compile(r"(?i)brief|beslisnota|besluit|kamerstuk|antwoord op kamervragen")
"""Manifest doc_types that are letters (Kamerbrief, Brief, Beslisnota, Besluit, Kamerstuk, Antwoord op Kamervragen)."""
HANDCHECKED = REPO / "tests" / "fixtures" / "fields_handchecked.jsonl"


def comparable(field: str, value: str | None) -> str | None:
    """The form two values of `field` are compared in: spellings that mean the same thing compare equal."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    if field == "sender":
        return normalise_sender(value).lower()
    if field in {"kenmerk", "uw_kenmerk"}:
        return "".join(value.split()).lower()
    if field == "dossier":
        return normalise_dossier(value) or value
    if field == "vergaderjaar":
        return value.replace("–", "-")
    if field in {"signatory", "addressee"}:
        return " ".join(value.replace(",", " ").split()).lower()  # names run together once lines are joined
    if field in {"title", "sender_unit", "doc_type"}:
        return " ".join(value.split()).lower()
    return value


def matches(field: str, expected: str, got: str) -> bool:
    """Whether `got` is the manifest's `expected` value. The manifest names a few documents' sender only
    as "Rijksoverheid" (central government); any ministry is then a match."""
    if field == "sender" and expected.startswith("Rijksoverheid"):
        return normalise_sender(got).startswith("Ministerie van ")
    return comparable(field, got) == comparable(field, expected)


def group_of(doc: dict) -> str:
    if doc["collection"] in GROUPS:
        return GROUPS[doc["collection"]]
    return "letters" if LETTER_TYPES.search(doc.get("doc_type", "")) else "other digital"


def extractor(use_reference_text: bool) -> tuple[Callable[[Path, Path | None], Extraction | None], str]:
    """Return a function (source file, reference text) → Extraction, and a line saying which extractors run."""
    has_pdf = importlib.util.find_spec("indexer.extract_pdf") is not None and not use_reference_text
    has_text = importlib.util.find_spec("indexer.extract_text") is not None and not use_reference_text
    extract_pdf = importlib.import_module("indexer.extract_pdf").extract_pdf if has_pdf else None
    extract_text = importlib.import_module("indexer.extract_text").extract_text if has_text else None

    def extract(source: Path, reference: Path | None) -> Extraction | None:
        if source.suffix.lower() == ".pdf":
            if extract_pdf:
                return extract_pdf(source)
            if reference and reference.is_file():
                return pages_of(reference.read_text(encoding="utf-8"))
            return None
        if extract_text:
            return extract_text(source)
        return pages_of(source.read_text(encoding="utf-8", errors="replace"))

    def run(source: Path, reference: Path | None) -> Extraction | None:
        extraction = extract(source, reference)
        if extraction is not None:
            extraction.fields = {**official_fields(source), **extraction.fields}
        return extraction

    said = [
        "PDF: indexer.extract_pdf" if has_pdf else "PDF: FALLBACK to reference_text/ (pdftotext output)",
        "text: indexer.extract_text" if has_text else "text: FALLBACK to the file as UTF-8, pages split at form feeds",
        "official metadata.xml beside a file: merged",
    ]
    return run, "; ".join(said)


def pages_of(text: str) -> Extraction:
    """One page per form-feed-separated part, as pdftotext and the text extractor separate pages."""
    return Extraction(pages=[Page(n, page) for n, page in enumerate(text.split("\f"), start=1)])


def parse(
    run: Callable[[Path, Path | None], Extraction | None], source: Path, reference: Path | None
) -> LetterFields | str:
    """Parsed fields, or the error text when extraction failed (a failure counts as nothing found)."""
    try:
        extraction = run(source, reference)
    except Exception as error:  # a benchmark reports per-document failures and goes on
        return f"{type(error).__name__}: {error}"
    if extraction is None:
        return "no extractor and no reference text"
    return parse_letter(extraction, source)


class Tally:
    """Counts per (group, field) and the wrong answers, for one table."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.wrong: list[tuple[str, str, str, str, str | None]] = []

    def add(self, group: str, doc: str, field: str, expected: str, got: str | None) -> None:
        counts = self.counts[(group, field)]
        counts["expected"] += 1
        if got is not None:
            counts["found"] += 1
            if matches(field, expected, got):
                counts["correct"] += 1
            else:
                counts["wrong"] += 1
                self.wrong.append((group, doc, field, expected, got))
        else:
            self.wrong.append((group, doc, field, expected, None))

    def print(self, title: str, examples: int) -> None:
        print(f"\n{title}")
        print(f"{'group':<14}{'field':<14}{'expected':>9}{'found':>7}{'correct':>9}{'wrong':>7}{'correct %':>11}")
        for (group, field), c in sorted(self.counts.items()):
            share = 100 * c["correct"] / c["expected"] if c["expected"] else 0.0
            print(
                f"{group:<14}{field:<14}{c['expected']:>9}{c['found']:>7}{c['correct']:>9}{c['wrong']:>7}{share:>10.1f}%"
            )
        by_group: dict[str, list] = defaultdict(list)
        for item in self.wrong:
            by_group[item[0]].append(item)
        for group, items in sorted(by_group.items()):
            print(f"\n  wrong or missing, {group} ({len(items)}; first {min(examples, len(items))}):")
            for _, doc, field, expected, got in items[:examples]:
                print(f"    {doc[:58]:<58} {field:<12} expected {expected!r:.60}  got {got!r:.60}")


def bench_manifest(shared: Path, run, examples: int) -> None:
    corpus = shared / "corpus"
    tally = Tally()
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        wanted = {key: doc[key] for key in MANIFEST_FIELDS if doc.get(key)}
        if doc["collection"] != "aanhangsel_kamervragen" and doc["collection"] != "plooi_testdata":
            wanted.pop("officiele_publicatie_id", None)
        if not wanted:
            continue
        relative = doc.get("pdf") or doc.get("text")
        source = corpus / relative if (corpus / relative).exists() else corpus / "pdf" / relative
        reference = corpus / doc["reference_text"] if doc.get("reference_text") else None
        parsed = parse(run, source, reference)
        group = group_of(doc)
        for key, expected in wanted.items():
            field = MANIFEST_FIELDS[key]
            got = getattr(parsed, field) if isinstance(parsed, LetterFields) else None
            tally.add(group, doc["id"], field, str(expected), got)
    tally.print("Manifest fields (corpus/manifest.jsonl)", examples)


def bench_handchecked(shared: Path, run, examples: int) -> None:
    tally = Tally()
    for line in HANDCHECKED.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        source = shared / doc["path"]
        reference = shared / doc["reference_text"] if doc.get("reference_text") else None
        parsed = parse(run, source, reference)
        for field, expected in doc["fields"].items():
            got = getattr(parsed, field) if isinstance(parsed, LetterFields) else None
            if expected is None:
                continue
            tally.add(doc.get("group", "hand-checked"), doc["path"].split("/")[-1], field, str(expected), got)
    tally.print(f"Hand-checked fields ({HANDCHECKED.relative_to(REPO)})", examples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="folder holding corpus/ and seeds/")
    parser.add_argument("--examples", type=int, default=15, help="wrong answers to print per group")
    parser.add_argument(
        "--reference-text", action="store_true", help="read pdftotext's reference_text/ even when the extractors exist"
    )
    args = parser.parse_args()
    run, said = extractor(args.reference_text)
    print(f"Extractors: {said}")
    bench_manifest(args.shared, run, args.examples)
    bench_handchecked(args.shared, run, args.examples)


if __name__ == "__main__":
    main()
