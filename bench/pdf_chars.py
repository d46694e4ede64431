"""pdfplumber against pypdfium2 as the source of text-layer characters: CPU time, residue, word recall.

For every text-layer PDF of the corpus (the image-only Woo-besluit is left out: it is OCR), each
source is timed on its own (characters read and grouped into words, `indexer.layout.words_from_chars`)
and end to end (`extract_pdf(ocr=False)` with the source swapped in), and the output is scored:
- residue: the share of paragraph chunks with layout clutter, by `bench/residue.py`'s detectors;
- word recall / precision against pdftotext's reference text, as tests/test_extract_pdf.py counts
  them (words of 3+ letters, line-end hyphens joined, lower case; multiset overlap).
Sources: "pdfplumber" (what `indexer.extract_pdf` uses: the LTChars of pdfplumber's `page.layout`),
"plumber-dicts" (the same characters through pdfplumber's `page.chars` dictionaries: timed only), and
"pdfium" (the pypdfium2 reader `indexer.extract_pdf` used before, kept here for comparison).

Usage: python bench/pdf_chars.py [--only SUBSTRING] [--words FILE]   (one process; CPU seconds are
per process, so the figures hold on a shared machine)
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import math
import re
import sys
import time
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench.residue as residue  # noqa: E402
from bench.ingest_speed import CORPUS  # noqa: E402
from indexer import extract_pdf as module  # noqa: E402
from indexer.layout import Char, PageWords, words_from_chars  # noqa: E402

SCAN = "woo_vws_besluit"


# --- the previous source: pypdfium2, as indexer/extract_pdf.py had it ------------------------------


def pdfium_layers(path: Path) -> list[PageWords]:
    document = pdfium.PdfDocument(path)
    try:
        return [_text_layer(document[i]) for i in range(len(document))]
    finally:
        document.close()


def _text_layer(page: pdfium.PdfPage) -> PageWords:
    """The page's text layer as words; characters outside the crop box or not set horizontally are skipped.

    Per character only the loose box and the baseline origin are asked of pdfium; the text comes in one
    call, and the rotation and font weight only where a new line or word starts (they rarely change
    inside a word), which halves the time spent in ctypes calls.
    """
    left, bottom, right, top = page.get_bbox()
    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the Basic Multilingual Plane: ask one by one
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    box = pdfium_c.FS_RECTF()
    x, y = ctypes.c_double(), ctypes.c_double()
    chars: list[Char] = []
    bold = skew = False
    previous_y: float | None = None
    word_start = True
    for i, char in enumerate(text):
        if char in "\r\n":
            word_start = True
            continue
        if char == " ":
            word_start = True
            if pdfium_c.FPDFText_IsGenerated(textpage, i):
                continue
        pdfium_c.FPDFText_GetCharOrigin(textpage, i, x, y)
        if y.value != previous_y:
            angle = pdfium_c.FPDFText_GetCharAngle(textpage, i)
            skew = 0.05 < angle < 2 * math.pi - 0.05
            previous_y, word_start = y.value, True
        if skew:
            continue
        if word_start:
            bold = pdfium_c.FPDFText_GetFontWeight(textpage, i) >= 600
            word_start = False
        pdfium_c.FPDFText_GetLooseCharBox(textpage, i, box)
        if not (left <= (box.left + box.right) / 2 <= right and bottom <= (box.top + box.bottom) / 2 <= top):
            continue
        chars.append(
            Char(
                "-" if char in "\x02\ufffe" else char,  # pdfium's mark for a hyphen at a line end
                box.left - left,
                box.right - left,
                top - box.top,
                top - box.bottom,
                top - y.value,
                bold,
            )
        )
    textpage.close()
    return PageWords(words_from_chars(chars), right - left, top - bottom)


# --- pdfplumber's documented per-character dictionaries (timed only) -------------------------------


def plumber_dict_layers(path: Path) -> list[PageWords]:
    layers = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            left, crop_top, right, crop_bottom = page.cropbox
            shift_y = page.height + page.mediabox[1]
            chars = [
                Char(
                    c["text"],
                    c["x0"] - left,
                    c["x1"] - left,
                    c["top"] - crop_top,
                    c["bottom"] - crop_top,
                    shift_y - c["matrix"][5] - crop_top,
                    bool(module._BOLD.search(c["fontname"])),
                )
                for c in page.chars
                if c["upright"] and not c["text"].startswith("(cid:")
            ]
            page.close()
            layers.append(PageWords(words_from_chars(chars), right - left, crop_bottom - crop_top))
    return layers


SOURCES = {"pdfplumber": module._text_layers, "pdfium": pdfium_layers, "plumber-dicts": plumber_dict_layers}
_ORIGINAL = module._text_layers


# --- scoring ----------------------------------------------------------------------------------------


def counts(text: str) -> collections.Counter[str]:
    text = re.sub(r"-\s*\n\s*", "", text)
    return collections.Counter(word.lower() for word in re.findall(r"[^\W\d_]{3,}", text))


def reference(path: Path) -> Path | None:
    ref = CORPUS / "reference_text" / path.relative_to(CORPUS / "pdf").with_suffix(".txt")
    return ref if ref.exists() else None


def score(path: Path, source: str) -> dict:
    """Time the source alone and end to end, and score its extraction."""
    start = time.process_time()
    layers = SOURCES[source](path)
    layer_cpu = time.process_time() - start
    row = {"pages": len(layers), "layer_cpu": layer_cpu}
    if source == "plumber-dicts":
        return row
    captured = {}

    def capturing(p, **kwargs):
        captured["x"] = extraction = module.extract_pdf(p, **kwargs)
        return extraction

    module._text_layers = SOURCES[source]
    residue.extract_pdf = capturing
    try:
        result = residue.run(path, ocr=False)
    finally:
        module._text_layers = _ORIGINAL
    row.update(cpu=result.cpu, chunks=result.chunks, flagged=result.flagged, error=result.error)
    row["kinds"] = collections.Counter(kind for kind, _ in result.residue)
    ref = reference(path)
    if ref is not None and "x" in captured:
        ours = counts(captured["x"].text + "\n" + captured["x"].sidebar)
        truth = counts(ref.read_text())
        row.update(common=sum((ours & truth).values()), ours=sum(ours.values()), truth=sum(truth.values()))
        row["lost"], row["invented"] = truth - ours, ours - truth
    return row


def group(path: Path) -> str:
    return path.relative_to(CORPUS / "pdf").parts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only PDFs whose path contains this")
    parser.add_argument("--words", type=Path, help="write per-file lost/invented words here")
    args = parser.parse_args()
    paths = [p for p in sorted((CORPUS / "pdf").rglob("*.pdf")) if SCAN not in str(p) and args.only in str(p)]
    rows: dict[str, dict[Path, dict]] = {source: {} for source in SOURCES}
    for path in paths:
        for source in SOURCES:  # interleaved, so that a busy spell of the machine hits all sources
            rows[source][path] = score(path, source)
    groups = sorted({group(p) for p in paths}) + ["all"]
    print("| source | files | pages | text layer ms/page CPU | extract_pdf ms/page CPU | residue | word recall | word precision |")
    print("|---|---|---|---|---|---|---|---|")
    for name in groups:
        for source in SOURCES:
            part = [r for p, r in rows[source].items() if name in ("all", group(p))]
            pages = sum(r["pages"] for r in part)
            line = f"| {source} ({name}) | {len(part)} | {pages} | {1000 * sum(r['layer_cpu'] for r in part) / pages:.1f} |"
            if source == "plumber-dicts":
                print(line + " | | | |")
                continue
            chunks, flagged = sum(r["chunks"] for r in part), sum(r["flagged"] for r in part)
            truth, common, ours = (sum(r.get(k, 0) for r in part) for k in ("truth", "common", "ours"))
            print(
                line + f" {1000 * sum(r['cpu'] for r in part) / pages:.1f} | {100 * flagged / max(chunks, 1):.2f}% "
                f"({flagged}/{chunks}) | {100 * common / max(truth, 1):.2f}% | {100 * common / max(ours, 1):.2f}% |"
            )
    for source in ("pdfplumber", "pdfium"):
        kinds = sum((r["kinds"] for r in rows[source].values()), collections.Counter())
        errors = [f"{p.name}: {r['error']}" for p, r in rows[source].items() if r["error"]]
        print(f"{source}: residue kinds {dict(kinds)}; errors {errors}")
    if args.words:
        with args.words.open("w") as out:
            for path in paths:
                a, b = rows["pdfplumber"][path], rows["pdfium"][path]
                if "common" not in a:
                    continue
                out.write(
                    f"## {path.relative_to(CORPUS)}  recall pdfplumber {a['common'] / max(a['truth'], 1):.4f} "
                    f"pdfium {b['common'] / max(b['truth'], 1):.4f}\n"
                )
                for source, r in (("pdfplumber", a), ("pdfium", b)):
                    out.write(f"  {source} lost: {' '.join(sorted(r['lost'].elements()))[:1500]}\n")
                    out.write(f"  {source} invented: {' '.join(sorted(r['invented'].elements()))[:1500]}\n")


if __name__ == "__main__":
    main()
