"""Explicit links of `archive related` on the shared corpus: counts, symmetry, the issue's checks, and
a sample printed for checking by hand.

Run: .venv/bin/python bench/related_precision.py [ARCHIVE_DIR] [--sample 25] [--seed 7]

ARCHIVE_DIR is reused when it already holds documents; otherwise the shared corpus (pdf/, text/,
plooi_testdata/; not reference_text/, which repeats the PDFs as text) and the two seed letters are
ingested into it first (default: /tmp/archive-related-bench).

Printed:
- links per kind (each undirected pair once) and whether every link is found from both ends
  with the inverse kind;
- every motie lists the other moties of its dossier (34682 and 36410-V have 35 and 33 in the
  corpus manifest);
- the Aanhangsel that cites Kamerstuk 36 197, nr. 15 links to that motie when it is present;
- the similar-content list of each seed letter;
- a random sample of explicit links per group with the evidence a reader needs (the reason, both
  documents' headers, the words that made the link), numbered for a verdict by hand.
- the latency of `Archive.related` per document.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from bench.ingest_speed import CORPUS, SHARED  # noqa: E402
from indexer.store import DocumentRow  # noqa: E402

INPUTS = [CORPUS / "pdf", CORPUS / "text", CORPUS / "plooi_testdata", SHARED / "seeds"]
INVERSE = {
    "answers": "answered_by", "answered_by": "answers", "question": "answer", "answer": "question",
    "same_dossier": "same_dossier", "cites": "cited_by", "cited_by": "cites",
}
GROUP = {
    "answers": "reply", "answered_by": "reply", "question": "kamervragen", "answer": "kamervragen",
    "same_dossier": "same_dossier", "cites": "cites", "cited_by": "cites",
}


def header(archive: Archive, doc: DocumentRow, chars: int = 260) -> str:
    text = " ".join(archive.store.document_text(doc.id)[:chars].split())
    return f"[{doc.key}] {doc.doc_type} · {doc.date} · dossier {doc.dossier} nr {doc.ondernummer} · kenmerk {doc.kenmerk} · uw {doc.uw_kenmerk}\n        “{text}”"


def context(archive: Archive, doc: DocumentRow, needle: str, width: int = 110) -> str:
    """The words around the first place `needle` stands in the document's text."""
    text = archive.store.document_text(doc.id)
    at = text.find(needle)
    if at < 0:
        return "(not found verbatim)"
    return "…" + " ".join(text[max(0, at - width) : at + len(needle) + width].split()) + "…"


def own_kamerstuk(archive: Archive, doc: DocumentRow) -> bool:
    """Whether the document prints its own dossier and number: "kst-36197-15", "36197-15" on a line
    of its own, the footer "Tweede Kamer, vergaderjaar …, 36 197, nr. 15" or the motie's head
    "Vergaderjaar 2022–2023 34 682 Nationale Omgevingsvisie Nr. 116"."""
    text = archive.store.document_text(doc.id)
    number, _, suffix = doc.dossier.partition("-")
    spaced = rf"{number[:-3]}\s?{number[-3:]}" + (rf"[\s-]{suffix}" if suffix else "")
    nr = re.escape(doc.ondernummer or "")
    return bool(
        re.search(rf"kst-{number}{'-' + suffix if suffix else ''}-{nr}\b", text)
        or re.search(rf"(?m)^\s*{number}{'-' + suffix if suffix else ''}-{nr}\s*$", text)
        or re.search(rf"vergaderjaar \d{{4}}[–-]\d{{4}}, {spaced}, nr\. {nr}\b", text)
        or re.search(rf"Vergaderjaar \d{{4}}[–-]\d{{4}}\s+{spaced}\b.{{0,400}}?\bNr\. {nr}\b", text[:1500], re.S)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", default="/tmp/archive-related-bench")
    parser.add_argument("--sample", type=int, default=25, help="links to print per group")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    archive = Archive.open(args.archive, create=True)
    if not archive.store.counts()["documents"]:
        started = time.perf_counter()
        report = archive.ingest([p for p in INPUTS if p.exists()], progress=None)
        print(f"ingested {len(report.added)} files ({len(report.failed)} failed) in {time.perf_counter() - started:.0f} s")
        for failure in report.failed[:10]:
            print(f"  failed: {failure.path}: {failure.error}")
    docs = {d.key: d for d in archive.store.documents()}
    print(f"archive {args.archive}: {len(docs)} documents\n")

    links: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (a, b) → kind → reason
    seconds: list[float] = []
    for key in docs:
        started = time.perf_counter()
        relations = archive.related(key, k_similar=0)
        seconds.append(time.perf_counter() - started)
        for rel in relations:
            links[(key, rel.target)][rel.kind] = rel.reason

    # symmetry: each directed link has its inverse from the other end
    asymmetric = [(a, b, kind) for (a, b), kinds in links.items() for kind in kinds if INVERSE[kind] not in links.get((b, a), {})]
    pairs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for (a, b), kinds in links.items():
        for kind in kinds:
            pairs[GROUP[kind]].add(tuple(sorted((a, b))))
    print("explicit links (undirected pairs):", {g: len(p) for g, p in sorted(pairs.items())})
    print(f"found from one end only: {len(asymmetric)}", asymmetric[:5])
    print(f"related() per document: median {statistics.median(seconds) * 1000:.1f} ms, "
          f"p95 {sorted(seconds)[int(0.95 * len(seconds))] * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms\n")

    # every motie lists the others of its dossier
    by_dossier: dict[str, list[str]] = defaultdict(list)
    for d in docs.values():
        if d.dossier:
            by_dossier[d.dossier].append(d.key)
    moties = [d for d in docs.values() if d.doc_type == "motie"]
    missing = [
        d.key for d in moties
        if d.dossier and {k for k in by_dossier[d.dossier] if k != d.key} != {b for (a, b), k in links.items() if a == d.key and "same_dossier" in k}
    ]
    print(f"moties: {len(moties)}, {sum(1 for d in moties if not d.dossier)} without a dossier; "
          f"{len(missing)} that do not list every other document of their dossier")
    for dossier in ("34682", "36410-V"):
        print(f"  dossier {dossier}: {len(by_dossier[dossier])} documents "
              f"({sum(1 for k in by_dossier[dossier] if docs[k].doc_type == 'motie')} moties)")

    # same_dossier rests on the dossier field: confirm it from each document's own id, footer or id line
    confirmed = {k for k, d in docs.items() if d.dossier and own_kamerstuk(archive, d)}
    dossier_pairs = pairs.get("same_dossier", set())
    both = sum(1 for a, b in dossier_pairs if a in confirmed and b in confirmed)
    print(f"same_dossier pairs whose two documents print their own dossier and nr (kst-id, footer, "
          f"head or id line): {both} of {len(dossier_pairs)}")

    # the Aanhangsel that cites Kamerstuk 36 197, nr. 15
    motie = [d for d in docs.values() if d.dossier == "36197" and d.ondernummer == "15"]
    citing = [k for k in docs if (k, motie[0].key) in links] if motie else []
    print(f"Kamerstuk 36 197, nr. 15 present: {bool(motie)}; linked from: "
          + ", ".join(f"{k} ({docs[k].doc_type}: {', '.join(links[(k, motie[0].key)])})" for k in citing))

    # similar content for the seed letters
    for d in docs.values():
        if str(SHARED / "seeds") in d.path:
            print(f"\nsimilar to seed {d.key} — {d.title}:")
            for rel in archive.related(d.key, k_similar=8):
                if rel.kind == "similar":
                    print(f"  {rel.score:.3f}  {rel.target}  {rel.citation.text}\n         {rel.title}")

    # a sample per group for checking by hand
    rng = random.Random(args.seed)
    print("\n=== sample of explicit links, for checking by hand ===")
    n = 0
    for group in ("reply", "kamervragen", "cites", "same_dossier"):
        chosen = sorted(pairs.get(group, ()))
        rng.shuffle(chosen)
        print(f"\n--- {group}: {min(args.sample, len(chosen))} of {len(chosen)} ---")
        for a, b in chosen[: args.sample]:
            n += 1
            kinds = links.get((a, b), {})
            print(f"\n#{n} {a} → {b}: " + "; ".join(f"{k}: {r}" for k, r in kinds.items()))
            print("   A " + header(archive, docs[a]))
            print("   B " + header(archive, docs[b]))
            for kind, reason in kinds.items():
                for quoted in re.findall(r"“([^”]+)”", reason)[:1]:
                    print("   words in A: " + context(archive, docs[a], quoted.rstrip("…")))
                if kind in ("cites", "cited_by") and "kenmerk" in reason:
                    value = reason.split("kenmerk ")[-1].split(",")[0].split(" ")[0]
                    print("   kenmerk in A: " + context(archive, docs[a], value))
    archive.close()


if __name__ == "__main__":
    main()
