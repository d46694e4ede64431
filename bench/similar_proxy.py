"""How good `related`'s "similar content" is without a judge: dossier mates among the top 5, with the
dossier link hidden; its latency; and a sample printed for judging by hand.

Run: .venv/bin/python bench/similar_proxy.py ARCHIVE_DIR [--weights 0.5,0.7] [--judge 10] [--seed 17]

ARCHIVE_DIR holds an ingested archive (the whole shared corpus for the figures in bench/QUALITY.md).

The proxy: for every document that shares its Kamerstuk dossier with another one, how many of its
5 most similar documents are in the same dossier, over min(5, its dossier mates) (1.0 = the list
is all dossier mates, or all of them). `similar` reads no stored field or link (dossier, kenmerk,
references: see archive.related.similar), and here it is asked with nothing excluded, so the
dossier mates that `related` lists under same_dossier, and the documents any explicit link names,
compete like any other document: the dossier is only the answer key. The documents with dossier
mates in the shared corpus are all moties (480 of 632 documents); a motie's head names its dossier
("36 045 Situatie in de Oekraïne"), which both sides read as text like any other.

`bench/related_precision.py` measures the explicit links and prints the seed letters' similar lists
for reading; it has no measure of the similar list, hence this file.

Methods: `mean` is the method before (cosine of mean passage vectors, `mean_vectors`), `dense` and `lexical` each side of the current method alone, and
`fused` the method `related` uses, at each of `--weights` (the passage-vector side's share).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive import related as rel  # noqa: E402
from archive.fusion import ranked  # noqa: E402
from indexer.store import DocumentRow  # noqa: E402

TOP = 5
ISSUE_EXAMPLE = "VWS-WOO-189158-RE_Ter_akkoord_antwoorden_PBMRescEU_voor_Follow_the_Money"
"""The Woo e-mail on protective equipment whose list held a Kamervraag on care in Aruba (issue 17):
judged first when present."""


def _ranked(scores: dict[int, float]) -> list[int]:
    return [doc for doc, _ in ranked(scores)]


def mean_vectors(archive: Archive) -> tuple[np.ndarray, np.ndarray]:
    """(document ids, matrix): each document's mean passage vector, L2-normalised, as the old
    "similar" ranked by it."""
    pids, matrix = archive.store.passage_vectors(archive.encoder.model_id)
    all_pids, all_docs = archive.store.passage_docs()
    doc_ids, inverse = np.unique(all_docs[np.searchsorted(all_pids, pids)], return_inverse=True)
    sums = np.zeros((len(doc_ids), matrix.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, matrix)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return doc_ids, (sums / np.where(norms == 0, 1, norms)).astype(np.float32)


def methods(archive: Archive, weights: list[float]) -> dict[str, Callable[[DocumentRow], list[int]]]:
    """Method name → document → the other documents, most similar first (at least TOP of them)."""
    store, indexes = archive.store, archive.indexes
    ids, matrix = mean_vectors(archive)

    def mean(me: DocumentRow) -> list[int]:
        at = np.flatnonzero(ids == me.id)
        if not len(at):
            return []
        order = np.argsort(-(matrix @ matrix[at[0]]), kind="stable")
        return [int(ids[i]) for i in order[: TOP + 1] if ids[i] != me.id]

    def fused(weight: float) -> Callable[[DocumentRow], list[int]]:
        def run(me: DocumentRow) -> list[int]:
            rel.SIMILAR_DENSE_WEIGHT = weight
            keys = [r.target for r in rel.similar(store, me, indexes, TOP, exclude=set())]
            rows = store.documents_by_keys(keys)
            return [rows[key].id for key in keys if key in rows]
        return run

    found: dict[str, Callable[[DocumentRow], list[int]]] = {
        "mean (before)": mean,
        "dense": lambda me: _ranked(rel.dense_neighbours(store, indexes.vectors(), indexes.lexical(), me, rel.sample(store, me))),
        "lexical": lambda me: _ranked(rel.lexical_neighbours(store, indexes.lexical(), me, rel.sample(store, me))),
    }
    for weight in weights:
        found[f"fused, dense weight {weight}"] = fused(weight)
    return found


def dossier(doc: DocumentRow) -> str | None:
    return doc.dossier


def woo_request(doc: DocumentRow) -> str | None:
    """The Woo request a shared-corpus Woo document was released under: its folder
    (`woo_vws_testdossiers/woo3/…`); the folder name is not stored text."""
    parts = doc.path.split("/")
    return parts[parts.index("woo_vws_testdossiers") + 1] if "woo_vws_testdossiers" in parts[:-2] else None


GROUPS = {"dossier": dossier, "Woo request": woo_request}
"""Answer keys, each of another kind of document: moties by Kamerstuk dossier; Woo e-mails, memos
and notes by the request that released them."""


def proxy(
    docs: dict[int, DocumentRow], rank: Callable[[DocumentRow], list[int]], group: Callable[[DocumentRow], str | None]
) -> tuple[float, float, float, int]:
    """(mean group mates in the top TOP, the proxy, ms per document, documents measured)."""
    members: dict[str, set[int]] = defaultdict(set)
    for doc in docs.values():
        if group(doc):
            members[group(doc)].add(doc.id)
    measured = [d for d in docs.values() if group(d) and len(members[group(d)]) > 1]
    hits, shares = [], []
    started = time.perf_counter()
    for me in measured:
        top = [d for d in rank(me) if d != me.id][:TOP]
        mates = sum(1 for d in top if group(docs[d]) == group(me))
        hits.append(mates)
        shares.append(mates / min(TOP, len(members[group(me)]) - 1))
    seconds = (time.perf_counter() - started) / max(1, len(measured))
    return statistics.fmean(hits), statistics.fmean(shares), seconds * 1000, len(measured)


def latency(archive: Archive, keys: list[str]) -> str:
    """Archive.related per document (what a letter page of `archive serve` calls), warm."""
    archive.related(keys[0])
    seconds = []
    for key in keys:
        started = time.perf_counter()
        archive.related(key)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return (f"Archive.related per document ({len(keys)}): median {statistics.median(seconds) * 1000:.1f} ms, "
            f"p95 {seconds[int(0.95 * len(seconds))] * 1000:.1f} ms, max {seconds[-1] * 1000:.1f} ms")


def describe(archive: Archive, doc: DocumentRow) -> str:
    words = " ".join(archive.store.document_text(doc.id)[:160].split())
    return f"{doc.key[:44]} · {doc.doc_type} · {(doc.title or '')[:90]}\n          “{words}”"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive")
    parser.add_argument("--weights", default=str(rel.SIMILAR_DENSE_WEIGHT), help="dense weights of the fused method, comma-separated")
    parser.add_argument("--judge", type=int, default=10, help="documents (not moties) to print before/after lists of")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    default = rel.SIMILAR_DENSE_WEIGHT

    archive = Archive.open(args.archive)
    docs = {d.id: d for d in archive.store.documents()}
    print(f"archive {args.archive}: {len(docs)} documents")
    found = methods(archive, weights)
    for name, rank in found.items():
        for by, group in GROUPS.items():
            hits, share, ms, count = proxy(docs, rank, group)
            print(f"{name:28s} {by} mates in top {TOP}: {hits:.2f} of up to {TOP}, proxy {share:.3f} "
                  f"({count} documents, {ms:.1f} ms each)")
    rel.SIMILAR_DENSE_WEIGHT = default
    print(latency(archive, sorted(d.key for d in docs.values())))

    pool = sorted((d for d in docs.values() if d.doc_type != "motie"), key=lambda d: d.key)
    sample = random.Random(args.seed).sample(pool, min(args.judge, len(pool)))
    example = [d for d in pool if d.key == ISSUE_EXAMPLE]
    sample = (example + [d for d in sample if d not in example])[: args.judge]
    print(f"\n=== {len(sample)} documents that are not moties: top {TOP} before and after, for judging by hand ===")
    for n, me in enumerate(sample, 1):
        print(f"\n#{n} {describe(archive, me)}")
        for name in ("mean (before)", f"fused, dense weight {default}"):
            rank = found.get(name) or methods(archive, [default])[name]
            rel.SIMILAR_DENSE_WEIGHT = default
            print(f"  {name}:")
            for doc in rank(me)[:TOP]:
                print(f"    - {describe(archive, docs[doc])}")
    archive.close()


if __name__ == "__main__":
    main()
