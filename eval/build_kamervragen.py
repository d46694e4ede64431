"""Build `eval/kamervragen_queries.jsonl`: real written Kamervragen, judged by the minister's answer.

    python eval/build_kamervragen.py [--corpus ../shared/corpus] [--out eval/kamervragen_queries.jsonl]

The questions and answers were written by members of parliament and ministries, not by anyone who
built or tuned this search, so the set checks choices made on `dev_queries.jsonl`. Every answered
question ("Vraag n" … "Antwoord n") of the Aanhangsel documents in the manifest becomes one query:

- `query`: the question text as asked (a grouped "Vraag 3, 4 en 5" is one query), footnote markers
  and page furniture (running footer, ISSN line, footnotes) removed;
- `relevant`: the Aanhangsel itself; `pages`: the physical pages holding the answer's text (from
  the "Antwoord n" line to the next question), counted by pdftotext's form feeds;
- `answer`: the answer's text, so that an evaluator can tell answer passages from the passage that
  holds the question (which is in the same document and would make a document-level hit trivial).

Questions whose answer is short (under MIN_ANSWER_WORDS words: "Ja.", "Zie het antwoord op vraag
7.") are left out: their answer cannot be found apart from the question. The reference texts are the corpus's own pdftotext renderings; nothing here
reads the archive or runs a search.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
OUT = REPO / "eval" / "kamervragen_queries.jsonl"

MIN_ANSWER_WORDS = 15
"""Below this an answer is a bare yes/no ("Ja.", "Daar ben ik mee bekend.") or a pointer ("Zie het
antwoord op vraag 7."): 21 of the 175 questions; 3 more have no answer (a "Mededeling" instead)."""

_HEADER = re.compile(r"(Vraag|Antwoord)\s+(\d+(?:\s*(?:,|en)?\s*\d+)*)")
_FOOTNOTE_NUMBER = re.compile(r"\d{1,2}")
_FURNITURE = re.compile(
    r"\d{1,3}|ah-tk-\d+-\d+|ISSN .*|’s-Gravenhage \d{4}|Tweede Kamer, vergaderjaar .*|Aanhangsel"
)
_FOOTNOTE_MARK = re.compile(r"(?<=[?.!»”)\w])\d{1,2}(?=\s|$)")


def _numbers(text: str) -> frozenset[int]:
    return frozenset(int(n) for n in re.findall(r"\d+", text))


def _blocks(pages: list[str]) -> list[tuple[str, frozenset[int], list[tuple[int, str]]]]:
    """The Vraag/Antwoord blocks of a document, in order: (kind, numbers, [(page, line)])."""
    blocks: list[tuple[str, frozenset[int], list[tuple[int, str]]]] = []
    for page_number, page in enumerate(pages, start=1):
        in_furniture = False
        for line in page.split("\n"):
            stripped = line.strip()
            header = _HEADER.fullmatch(stripped)
            if header:
                blocks.append((header.group(1), _numbers(header.group(2)), []))
                in_furniture = False
                continue
            if not blocks or in_furniture:
                continue
            if stripped.startswith(("Antwoord van", "Mededeling", "Toelichting")):
                # A closing "Mededeling" or a new section ends the block.
                blocks[-1][2].append((page_number, "\0"))
                in_furniture = True
                continue
            if not stripped:
                blocks[-1][2].append((page_number, ""))
                continue
            if _FOOTNOTE_NUMBER.fullmatch(stripped) or (
                _FURNITURE.fullmatch(stripped) and _last_is_blank(blocks[-1][2], page_number)
            ):
                # Footnotes and the running footer come at the end of a page: skip to the next page.
                # (A table of bare numbers in an answer is cut there too; only its pages matter.)
                in_furniture = True
                continue
            blocks[-1][2].append((page_number, stripped))
    return blocks


def _last_is_blank(lines: list[tuple[int, str]], page: int) -> bool:
    return not lines or lines[-1][0] != page or lines[-1][1] in ("", "\0")


def _text(lines: list[tuple[int, str]]) -> str:
    kept: list[str] = []
    for _, line in lines:
        if line == "\0":
            break
        if line:
            kept.append(line)
    text = " ".join(kept)
    return " ".join(_FOOTNOTE_MARK.sub("", text).split())


def _pages(lines: list[tuple[int, str]]) -> list[int]:
    pages: list[int] = []
    for page, line in lines:
        if line == "\0":
            break
        if line and len(line.split()) >= 2 and page not in pages:
            pages.append(page)
    return pages


def questions(pdf: str, text: str) -> list[dict]:
    """The judged queries of one Aanhangsel's reference text."""
    blocks = _blocks(text.split("\f"))
    answers = [(numbers, lines) for kind, numbers, lines in blocks if kind == "Antwoord"]
    out = []
    for kind, numbers, lines in blocks:
        if kind != "Vraag":
            continue
        answer_lines = [line for a_numbers, a_lines in answers if a_numbers & numbers for line in a_lines]
        question, answer = _text(lines), _text(answer_lines)
        if not question or len(answer.split()) < MIN_ANSWER_WORDS:
            continue
        label = " en ".join(str(n) for n in sorted(numbers))
        out.append({
            "query": question,
            "kind": "kamervraag",
            "relevant": [pdf],
            "pages": {pdf: _pages(answer_lines)},
            "answer": answer,
            "corpus": "shared",
            "note": f"Vraag {label}; answered by Antwoord {label} of the same Aanhangsel",
        })
    return out


def build(corpus: Path) -> list[dict]:
    items: list[dict] = []
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        aanhangsel = entry.get("collection") == "aanhangsel_kamervragen" or str(entry.get("id", "")).startswith("ah-tk-")
        if not aanhangsel or not entry.get("reference_text") or not entry.get("pdf"):
            continue
        text = (corpus / entry["reference_text"]).read_text(encoding="utf-8")
        items.extend(questions(entry["pdf"], text))
    for number, item in enumerate(items, start=1):
        item["id"] = f"kv{number:03d}"
    return [{"id": item.pop("id"), **item} for item in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = build(args.corpus)
    with open(args.out, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    documents = {item["relevant"][0] for item in items}
    print(f"{len(items)} questions from {len(documents)} documents → {args.out}")


if __name__ == "__main__":
    main()
