"""How much layout clutter survives extraction: the share of paragraph chunks still holding a running
footer, a sidebar label, a page number or a broken hyphenation, over the whole corpus.

Runs `indexer.extract_pdf` / `indexer.extract_text` on every PDF and text file under the corpus
(XML is extracted elsewhere), cuts each page's cleaned text at blank lines as a stand-in for
passages, and checks every chunk with detectors written here, independent of the cleaning rules
they audit. Also prints throughput (per CPU second, as the machine may be shared) and OCR figures.

What counts as residue in a chunk:
- running footer: a Kamerstuk footer ("Tweede Kamer, vergaderjaar …" not preceded by a footnote
  number), an ISSN line, the "’s-Gravenhage 2024" imprint, "Pagina 2 van 5" (spacing-tolerant);
- sidebar label: "Ons kenmerk", "Onze referentie", "Uw kenmerk", "Uw referentie", "Retouradres"
  anywhere; "Inlichtingen", "Contactpersoon", "Doorkiesnummer", "Bijlage(n)", "Kenmerk <code>",
  "Datum <date>", "Betreft <Subject>" at the start of a line;
- page-number line: a number-only paragraph or first/last line of a page, or a number glued to the
  page's first or last word, whose value runs with the page count (see `_page_numbers`);
- running header: a page's first paragraph identical (less a page number) to another page's;
- broken hyphenation: "-" before a line break, or "word- word" in lower case that is no elided
  compound part ("directie- en").
Wrong joins ("secretarisgeneraal") are not visible to these detectors; tests/test_clean.py pins them.

Usage: python bench/residue.py [CORPUS] [--workers 2] [--examples 5] [--no-ocr]
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest_speed import CORPUS  # noqa: E402
from indexer.extract_pdf import ExtractError, extract_pdf  # noqa: E402
from indexer.extract_text import extract_text  # noqa: E402



def _spaced(word: str) -> str:
    """A label as a poor text layer may print it: "Onze ref erentie"."""
    return r"\s?".join(re.escape(c) for c in word.replace(" ", ""))


_FOOTER = re.compile(
    r"(?<!\d )(?:Tweede|Eerste) Kamer, vergaderjaar \d{4}|ISSN \d{4} ?- ?\d{3}|[’']s-Gravenhage \d{4}\s*$"
    r"|" + _spaced("Pagina") + r"\s*\d+\s*van\s*\d+",
    re.MULTILINE,
)
"""Kamerstuk footer (not a footnote citing one: "12 Tweede Kamer, vergaderjaar …"), ISSN, imprint, "Pagina 2 van 5"."""
_LABEL_ANYWHERE = re.compile(
    "|".join(_spaced(label) for label in ("Ons kenmerk", "Onze referentie", "Uw kenmerk", "Uw referentie", "Retouradres"))
)
"""Labels that body text never prints capitalised in mid-sentence."""
_LABEL_AT_START = re.compile(
    r"^(?:"
    + "|".join(_spaced(label) for label in ("Inlichtingen", "Contactpersoon", "Doorkiesnummer", "Bijlage(n)"))
    + r")(?:\s|$)"
    + r"|^Kenmerk\s+\S*\d"
    + r"|^Datum:?\s+\d{1,2}\s+\w+\s+\d{4}"
    + r"|^Betreft:?\s+[A-Z]",
    re.MULTILINE,
)
_PAGE_LINE = re.compile(r"[\s\-–—]*(\d{1,3})[\s\-–—]*|(\d{1,3})\s*/\s*\d{1,3}")
"""A line that is only a number (or "n/m"): a page number if it runs with the page count (`_page_numbers`)."""
_ELIDED = {"en", "of", "tot", "en/of", "noch", "als", "dan", "c.q.", "t/m", "resp."}
_BROKEN = re.compile(r"\b([a-zà-ÿ]{2,})- ([a-zà-ÿ][\w/.]*)")
"""A lower-case word, hyphen, space, lower-case word: "ambte- lijke" left by a re-flow."""


def detect(chunk: str) -> list[str]:
    """Names of the kinds of residue that one chunk shows by itself."""
    found = []
    if _FOOTER.search(chunk):
        found.append("running footer")
    if _LABEL_ANYWHERE.search(chunk) or _LABEL_AT_START.search(chunk):
        found.append("sidebar label")
    if "-\n" in chunk or any(m.group(2).rstrip(".,;:") not in _ELIDED for m in _BROKEN.finditer(chunk)):
        found.append("broken hyphenation")
    return found


def _page_numbers(pages: list[list[str]], numbers: list[int]) -> set[tuple[int, int]]:
    """(page index, chunk index) of chunks holding a page number: a number-only paragraph, a number-only
    first or last line, or a number that re-flow glued to the start of the first chunk or the end of the last.

    The number must run with the page count: its value minus the page number (the offset of front
    matter) is within one, or the same offset recurs on another page. Numbers that do not follow the
    pages (table cells, list numbers, footnote marks, a table of contents) do not count.
    """
    candidates: list[tuple[int, int, int]] = []
    for p, (chunks, number) in enumerate(zip(pages, numbers)):
        if not chunks:
            continue
        first, last = chunks[0].split("\n")[0], chunks[-1].split("\n")[-1]
        alone = [(i, chunk, 0) for i, chunk in enumerate(chunks) if _PAGE_LINE.fullmatch(chunk.strip())]
        for i, line, at in [(0, first, 0), (len(chunks) - 1, last, -1)] + alone:
            tokens = line.split()
            if match := _PAGE_LINE.fullmatch(line.strip()):
                candidates.append((p, i, int(match.group(1) or match.group(2)) - number))
            elif len(tokens) > 1 and tokens[at].isdigit():
                candidates.append((p, i, int(tokens[at]) - number))
    pages_with = Counter(offset for _, offset in {(p, offset) for p, _, offset in candidates})
    return {(p, i) for p, i, offset in candidates if abs(offset) <= 1 or pages_with[offset] >= 2}


def _opening(chunks: list[str]) -> str:
    """A page's first paragraph less a trailing page number: the same on two pages, it is a running
    header. (A table header repeated above continued rows opens a different paragraph each time, the
    rows run on after it, and is not counted: it is the table's content.)"""
    return re.sub(r"\s*\d{1,4}$", "", chunks[0].strip())


@dataclass
class Result:
    path: str
    pages: int = 0
    ocr_pages: int = 0
    seconds: float = 0.0
    """Wall-clock seconds of the extraction."""
    cpu: float = 0.0
    """CPU seconds of the extraction, Tesseract's included: the machine may be shared."""
    chunks: int = 0
    residue: list[tuple[str, str]] = field(default_factory=list)
    """(kind, chunk) per finding."""
    flagged: int = 0
    error: str = ""


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(path: Path, ocr: bool = True) -> Result:
    """Extract one file and check its chunks."""
    result = Result(str(path))
    start, cpu = time.perf_counter(), _cpu()
    try:
        extraction = extract_pdf(path, ocr=ocr) if path.suffix == ".pdf" else extract_text(path)
    except ExtractError as error:
        result.error = str(error)
        return result
    result.seconds, result.cpu = time.perf_counter() - start, _cpu() - cpu
    result.pages = len(extraction.pages)
    result.ocr_pages = sum(page.ocr for page in extraction.pages)
    pages = [[chunk for chunk in page.text.split("\n\n") if chunk.strip()] for page in extraction.pages]
    numbered = _page_numbers(pages, [page.number for page in extraction.pages])
    openings = Counter(_opening(chunks) for chunks in pages if chunks)
    for p, chunks in enumerate(pages):
        result.chunks += len(chunks)
        for i, chunk in enumerate(chunks):
            kinds = detect(chunk)
            if i == 0 and openings[_opening(chunks)] > 1:
                kinds.append("running header")
            if (p, i) in numbered:
                kinds.append("page-number line")
            result.residue += [(kind, chunk) for kind in kinds]
            result.flagged += bool(kinds)
    return result


def files(corpus: Path) -> list[Path]:
    pdfs = sorted((corpus / "pdf").rglob("*.pdf"))
    texts = sorted(p for p in (corpus / "text").rglob("*") if p.suffix in {".txt", ".md"})
    return pdfs + texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args()
    paths = files(args.corpus)
    start = time.perf_counter()
    with Pool(args.workers) as pool:
        results = pool.starmap(run, [(path, not args.no_ocr) for path in paths], chunksize=1)
    wall = time.perf_counter() - start

    done = [r for r in results if not r.error]
    for r in results:
        if r.error:
            print(f"ERROR {r.path}: {r.error}")
    chunks = sum(r.chunks for r in done)
    flagged = sum(r.flagged for r in done)
    kinds = Counter(kind for r in done for kind, _ in r.residue)
    print(f"files {len(results)} ({len(results) - len(done)} failed), chunks {chunks}")
    print(f"chunks with residue: {flagged} = {100 * flagged / max(chunks, 1):.2f}%")
    for kind, count in kinds.most_common():
        print(f"  {kind}: {count} chunks ({100 * count / max(chunks, 1):.2f}%)")
    for group, suffix in (("pdf", ".pdf"), ("text", ".txt")):
        part = [r for r in done if r.path.endswith(suffix)]
        part_chunks = sum(r.chunks for r in part)
        print(
            f"{group}: {len(part)} files, {sum(r.pages for r in part)} pages, {part_chunks} chunks, "
            f"residue {100 * sum(r.flagged for r in part) / max(part_chunks, 1):.2f}%"
        )
    pages = sum(r.pages for r in done)
    ocr_pages = sum(r.ocr_pages for r in done)
    print(f"wall {wall:.1f} s with {args.workers} workers: {pages / wall:.1f} pages/s overall")
    for label, part in (
        ("PDF, text layer", [r for r in done if r.path.endswith(".pdf") and not r.ocr_pages]),
        ("PDF with OCR pages", [r for r in done if r.ocr_pages]),
        ("text files", [r for r in done if not r.path.endswith(".pdf")]),
    ):
        part_pages = sum(r.pages for r in part)
        cpu = sum(r.cpu for r in part)
        print(
            f"{label}: {part_pages} pages, {cpu:.1f} CPU s ({part_pages / max(cpu, 1e-9):.1f} pages per CPU second), "
            f"{sum(r.seconds for r in part):.1f} s wall in workers"
        )
    ocr_cpu = sum(r.cpu for r in done if r.ocr_pages)
    print(f"OCR: {ocr_pages} pages; their documents took {ocr_cpu / max(ocr_pages, 1):.1f} CPU s per OCR page")
    for kind in kinds:
        print(f"\n--- {kind}: examples")
        shown = 0
        for r in done:
            for found, chunk in r.residue:
                if found == kind and shown < args.examples:
                    print(f"[{Path(r.path).name}] {chunk[:300]!r}")
                    shown += 1


if __name__ == "__main__":
    main()
