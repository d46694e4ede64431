"""Every identifier a document carries as its own, typed as a clerk would, searched: is the document first?

Run: .venv/bin/python bench/identifier_sweep.py ARCHIVE_DIR [--show 20]

The dev set's identifier queries (eval/dev_queries.jsonl) are 29 hand-written ones; this sweep asks
for all of them in an archive, so that a kind or a spelling the hand-written set missed shows up.
For each document, each identifier that is its own:

- `kamerstuk`: its dossier and number, as "Kamerstuk 36410-XVI nr. 137" and as printed in a
  Kamerstuk's head, "36 410 XVI, nr. 137";
- `aanhangsel`: its Aanhangsel number, as "Aanhangsel Handelingen II 2023/24, nr. 1314" and as the
  officielebekendmakingen id "ah-tk-20232024-1314";
- `kenmerk`: its own kenmerk as the letter prints it, alone and after "kenmerk";
- `sidebar`: each identifier its colophon prints ("Onze referentie 5687928/11", a zaak number), as
  printed there.

The right answers are all documents that carry the same identifier as their own, of whichever kind
(a letter and its annex share a kenmerk; a Woo request's documents share its number; one letter's
kenmerk is another copy's sidebar reference). The query is searched in hybrid
mode per document, as `archive search` shows it; reported per kind: queries, share with a right
document first, MRR@10, and the queries that missed, with what came first. Identifiers a document
only cites are not asked: they find the cited document, not this one.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from indexer.keys import identifier_key, kenmerk_key  # noqa: E402
from indexer.references import find_identifiers  # noqa: E402
from indexer.store import DocumentRow  # noqa: E402


def _spaced(dossier: str) -> str:
    """"36410-XVI" as a Kamerstuk's head prints it: "36 410 XVI"."""
    number, _, suffix = dossier.partition("-")
    spaced = f"{number[:2]} {number[2:]}" if len(number) == 5 else number
    return f"{spaced} {suffix}".strip() if suffix and not suffix.isdigit() else f"{spaced}-{suffix}" if suffix else spaced


def queries(store, doc: DocumentRow) -> list[tuple[str, str, str]]:
    """(kind, query, answer key) for each of `doc`'s own identifiers; documents with the same answer
    key are right answers too."""
    out = []
    if doc.dossier and doc.ondernummer:
        key = f"{doc.dossier}:{doc.ondernummer.upper()}"
        out += [("kamerstuk", f"Kamerstuk {doc.dossier} nr. {doc.ondernummer}", key),
                ("kamerstuk", f"{_spaced(doc.dossier)}, nr. {doc.ondernummer}", key)]
    if doc.aanhangsel and (m := re.fullmatch(r"ah-tk-(\d{4})(\d{4})-(\d+)", doc.aanhangsel)):
        years = f"{m[1]}/{m[2][2:]}"
        out += [("aanhangsel", f"Aanhangsel Handelingen II {years}, nr. {m[3]}", doc.aanhangsel),
                ("aanhangsel", doc.aanhangsel, doc.aanhangsel)]
    if doc.kenmerk:
        key = kenmerk_key(doc.kenmerk)
        out += [("kenmerk", doc.kenmerk, key), ("kenmerk", f"kenmerk {doc.kenmerk}", key)]
    seen = set()
    for line in store.sidebar(doc.id).splitlines():
        for ref in find_identifiers(line):
            key = identifier_key(ref.value)
            if key and key not in seen:
                seen.add(key)
                out.append(("sidebar", ref.text, key))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--show", type=int, default=20, help="misses to print")
    args = parser.parse_args()
    with Archive.open(args.archive, repair=False) as archive:
        store = archive.store
        asked = [(doc, kind, query, key) for doc in store.documents() for kind, query, key in queries(store, doc)]
        holders: dict[str, set[str]] = defaultdict(set)
        for doc, _, _, key in asked:
            holders[key].add(doc.key)
        done: set[tuple[str, str]] = set()
        first: dict[str, list[float]] = defaultdict(list)
        reciprocal: dict[str, list[float]] = defaultdict(list)
        misses = []
        for doc, kind, query, key in asked:
            if (kind, query) in done:
                continue  # documents sharing an identifier ask it once
            done.add((kind, query))
            hits = archive.search(query, k=10, per_doc=True)
            rank = next((i for i, h in enumerate(hits, 1) if h.document in holders[key]), None)
            first[kind].append(1.0 if rank == 1 else 0.0)
            reciprocal[kind].append(1 / rank if rank else 0.0)
            if rank != 1:
                misses.append((kind, query, doc.key, rank, hits[0].document if hits else None))
        print(f"archive {args.archive}: {store.counts()['documents']} documents")
        print("| kind | queries | first | MRR@10 |\n|---|---|---|---|")
        for kind in sorted(first):
            n = len(first[kind])
            print(f"| {kind} | {n} | {sum(first[kind]) / n:.3f} | {sum(reciprocal[kind]) / n:.3f} |")
        every = [x for v in first.values() for x in v]
        mrr = [x for v in reciprocal.values() for x in v]
        print(f"| all | {len(every)} | {sum(every) / len(every):.3f} | {sum(mrr) / len(mrr):.3f} |")
        for kind, query, doc_key, rank, top in misses[: args.show]:
            print(f"miss {kind}: {query!r} → {doc_key} at {rank}, first {top}")


if __name__ == "__main__":
    main()
