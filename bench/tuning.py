"""Choose passage size and fusion weight on the dev queries, and print the evidence.

    python bench/tuning.py weights --archive /tmp/shared_idx
    python bench/tuning.py sizes 120 200 350 [--corpus DIR ...]

`weights` re-ranks the same candidates with different dense weights (no re-embedding).
`sizes` builds one archive per passage size from the same folders (each embeds its passages once)
and compares all three modes; queries whose relevant documents lie outside the folders are skipped.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from archive import Archive
from archive.evaluate import EvalReport, evaluate
from archive.search import search

REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "eval" / "dev_queries.jsonl"
CORPUS = REPO.parent / "shared" / "corpus"
SIZE_FOLDERS = [CORPUS / "pdf" / "aanhangsel_kamervragen", CORPUS / "pdf" / "ienw_kamerbrieven_pdftextsplitter",
                CORPUS / "text" / "moties", CORPUS / "plooi_testdata"]


def lines(label: str, report: EvalReport) -> list[str]:
    return [
        f"{label:>12} {mode:>8}: MRR@10 {m.mrr_at_10:.3f}  R@1 {m.recall_at_1:.3f}  R@10 {m.recall_at_10:.3f}  "
        f"R@100 {m.recall_at_100:.3f}  nDCG@10 {m.ndcg_at_10:.3f}"
        for mode, m in report.modes.items()
    ]


def weights(archive_dir: Path, values: list[float]) -> None:
    with Archive.open(archive_dir) as archive:
        docs = archive.store.documents()
        for weight in values:
            report = evaluate(
                QUERIES, docs,
                lambda q, mode: search(archive.store, archive.indexes, archive.encoder, q, k=100, mode=mode,
                                       per_doc=True, dense_weight=weight),
                ["hybrid"],
            )
            print(*lines(f"weight {weight:.2f}", report), f"({report.queries} queries)", flush=True)
            for kind, by_mode in report.by_kind.items():
                m = by_mode["hybrid"]
                print(f"{'':>12} {kind:>12}: MRR@10 {m.mrr_at_10:.3f}  R@10 {m.recall_at_10:.3f}", flush=True)


def sizes(values: list[int], folders: list[Path]) -> None:
    for size in values:
        with tempfile.TemporaryDirectory() as tmp, Archive.open(tmp, create=True) as archive:
            ingest = archive.ingest(folders, passage_tokens=size)
            report = archive.evaluate(QUERIES)
            print(f"size {size}: {ingest.passages} passages, {report.queries} queries", flush=True)
            print(*lines(f"size {size}", report), sep="\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("weights")
    w.add_argument("--archive", type=Path, required=True)
    w.add_argument("values", nargs="*", type=float, default=[0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0])
    s = sub.add_parser("sizes")
    s.add_argument("values", nargs="*", type=int, default=[120, 200, 350])
    s.add_argument("--corpus", type=Path, nargs="*", default=SIZE_FOLDERS)
    args = parser.parse_args()
    if args.what == "weights":
        weights(args.archive, args.values)
    else:
        sizes(args.values, args.corpus)


if __name__ == "__main__":
    main()
