"""FAISS vector index: differential tests against brute-force numpy, filters, deletes, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer import vectors as vectors_module
from indexer.stamps import STAMP_NAME
from indexer.vectors import INDEX_NAME, VectorIndex

DIM = 32
N = 3000
KINDS = ["flat", "ivf", "hnsw"]


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered unit vectors (like embeddings, unlike uniform noise), sparse positive ids, queries."""
    rng = np.random.default_rng(42)
    centres = unit(rng, 40)
    x = centres[rng.integers(40, size=N)] + 0.35 * unit(rng, N)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.sort(rng.choice(10 * N, N, replace=False)).astype(np.int64) + 1
    queries = centres[rng.integers(40, size=50)] + 0.35 * unit(rng, 50)
    return ids, x.astype(np.float32), (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def built(data) -> dict[str, VectorIndex]:
    """One index per kind for the tests that only search (HNSW builds dominate the run time)."""
    ids, x, _ = data
    return {kind: VectorIndex.build(ids, x, kind=kind) for kind in KINDS}


def brute_force(ids: np.ndarray, x: np.ndarray, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    scores = queries @ x.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(int(ids[j]), float(scores[q, j])) for j in row] for q, row in enumerate(order)]


def recall(got: list[list[tuple[int, float]]], want: list[list[tuple[int, float]]]) -> float:
    hits = sum(len({i for i, _ in g} & {i for i, _ in w}) for g, w in zip(got, want))
    return hits / sum(len(w) for w in want)


@pytest.mark.parametrize("kind", KINDS)
def test_top_k_matches_brute_force(kind: str, data, built) -> None:
    ids, x, queries = data
    index = built[kind]
    got, want = index.search(queries, 10), brute_force(ids, x, queries, 10)
    if kind == "flat":
        assert [[i for i, _ in row] for row in got] == [[i for i, _ in row] for row in want]
    else:
        assert recall(got, want) >= 0.9
    lookup = dict(zip(ids.tolist(), range(len(ids))))
    for q, row in enumerate(got):
        # Scores are cosines of the returned passages, in descending order.
        assert [s for _, s in row] == sorted((s for _, s in row), reverse=True)
        for pid, score in row:
            assert score == pytest.approx(float(queries[q] @ x[lookup[pid]]), abs=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [1, 7, 300, 2500])
def test_allowed_returns_best_of_the_subset(kind: str, size: int, data, built) -> None:
    ids, x, queries = data
    index = built[kind]
    pick = np.random.default_rng(size).choice(len(ids), size, replace=False)
    allowed = np.concatenate([ids[pick], [10**12]])  # an id the index does not hold is ignored
    got = index.search(queries, 10, allowed=allowed)
    want = brute_force(ids[pick], x[pick], queries, 10)
    assert all({i for i, _ in row} <= set(ids[pick].tolist()) for row in got)
    exact = kind == "flat" or size < vectors_module.EXACT_SUBSET_SHARE * N
    assert recall(got, want) >= (1.0 if exact else 0.9)


def test_hnsw_graph_walk_with_filter(data, monkeypatch: pytest.MonkeyPatch) -> None:
    """Subsets above the exact-scoring share walk the graph with a selector."""
    ids, x, queries = data
    monkeypatch.setattr(vectors_module, "EXACT_SUBSET_SHARE", 0.01)
    index = VectorIndex.build(ids, x, kind="hnsw")
    pick = np.random.default_rng(1).choice(len(ids), 600, replace=False)
    got = index.search(queries, 10, allowed=ids[pick])
    assert all({i for i, _ in row} <= set(ids[pick].tolist()) for row in got)
    assert recall(got, brute_force(ids[pick], x[pick], queries, 10)) >= 0.9


def test_filter_over_ids_beyond_the_bitmap_range(data) -> None:
    """Huge passage ids switch the filter to faiss' hash set; results are the same."""
    ids, x, queries = data
    shifted = ids + 2**40
    index = VectorIndex.build(shifted, x, kind="flat")
    pick = np.random.default_rng(5).choice(len(ids), 300, replace=False)
    got = index.search(queries, 10, allowed=shifted[pick])
    assert [[i for i, _ in row] for row in got] == [[i for i, _ in row] for row in brute_force(shifted[pick], x[pick], queries, 10)]


def test_empty_allowed_and_edge_cases(data) -> None:
    ids, x, queries = data
    index = VectorIndex.build(ids[:5], x[:5], kind="flat")
    assert index.search(queries[:2], 10, allowed=np.array([], dtype=np.int64)) == [[], []]
    assert [len(r) for r in index.search(queries[:2], 10)] == [5, 5]
    assert index.search(queries[0], 0) == [[]]
    empty = VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32))
    assert len(empty) == 0 and empty.search(queries[:1], 3) == [[]]
    with pytest.raises(ValueError):
        index.search(np.ones((1, DIM + 1), dtype=np.float32), 3)
    with pytest.raises(ValueError):
        VectorIndex.build(np.array([1, 1]), x[:2])
    with pytest.raises(ValueError):
        VectorIndex.build(ids[:2], x[:2], kind="annoy")


@pytest.mark.parametrize("kind", KINDS)
def test_remove_and_add(kind: str, data) -> None:
    ids, x, queries = data
    index = VectorIndex.build(ids, x, kind=kind)
    top = [i for i, _ in index.search(queries[:1], 3)[0]]
    index.remove(np.array(top + [10**12]))
    assert len(index) == N - 3
    assert not set(top) & {i for i, _ in index.search(queries[:1], 10)[0]}
    assert index.search(queries[:1], 10, allowed=np.array(top)) == [[]]
    # Re-adding an id replaces its vector; adding an existing id does not duplicate it.
    index.add(np.array([top[0]]), queries[:1])
    index.add(np.array([top[0]]), queries[:1])
    assert len(index) == N - 2
    assert index.search(queries[:1], 1)[0][0][0] == top[0]
    assert np.isin(top[0], index.ids()) and len(index.ids()) == len(index)


def test_empty_placeholder_takes_the_first_vectors_dimension(data) -> None:
    """The store builds an empty index before it knows its model (dim 1); the first add fixes it."""
    ids, x, queries = data
    index = VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32))
    index.add(ids[:10], x[:10])
    assert index.dim == DIM and len(index) == 10
    assert index.search(x[:1], 1)[0][0][0] == ids[0]
    with pytest.raises(ValueError):
        index.add(np.array([10**9]), np.ones((1, DIM + 1), dtype=np.float32))


def test_hnsw_rebuilds_graph_after_many_deletes(data) -> None:
    ids, x, queries = data
    index = VectorIndex.build(ids, x, kind="hnsw")
    index.remove(ids[: N // 2])
    assert len(index) == N - N // 2 and index._deleted == 0
    assert recall(index.search(queries, 10), brute_force(ids[N // 2 :], x[N // 2 :], queries, 10)) >= 0.9


def test_auto_promotes_when_growing(data, monkeypatch: pytest.MonkeyPatch) -> None:
    ids, x, queries = data
    monkeypatch.setattr(vectors_module, "AUTO_EXACT_MAX", 2000)
    index = VectorIndex.build(ids[:1500], x[:1500])
    assert index.kind == "flat" and index.auto
    index.add(ids[1500:], x[1500:])
    assert index.kind == vectors_module.AUTO_LARGE_KIND and len(index) == N
    assert recall(index.search(queries, 10), brute_force(ids, x, queries, 10)) >= 0.9
    assert VectorIndex.build(ids, x).kind == vectors_module.AUTO_LARGE_KIND
    assert VectorIndex.build(ids, x, kind="flat").kind == "flat"


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_roundtrip(kind: str, data, tmp_path: Path) -> None:
    ids, x, queries = data
    index = VectorIndex.build(ids, x, kind=kind)
    index.remove(ids[:3])
    index.save(tmp_path / "vectors", {"generation": 12, "model": "e5-small"})
    loaded, stamp = VectorIndex.load(tmp_path / "vectors")
    assert loaded.kind == kind and len(loaded) == len(index) == N - 3
    assert loaded.search(queries, 10) == index.search(queries, 10)
    assert stamp["generation"] == 12 and stamp["model"] == "e5-small"
    assert {"format", "kind", "count", "dim", "faiss", "built_at"} <= stamp.keys()
    assert sorted(p.name for p in (tmp_path / "vectors").iterdir()) == [INDEX_NAME, STAMP_NAME]


@pytest.mark.parametrize("kind", KINDS)
def test_mmap_load_is_read_only(kind: str, data, built, tmp_path: Path) -> None:
    ids, x, queries = data
    index = built[kind]
    index.save(tmp_path, {"generation": 1})
    mapped, _ = VectorIndex.load(tmp_path, mmap=True)
    assert mapped.search(queries, 10) == index.search(queries, 10)
    assert mapped.read_only == (kind != "ivf")
    if mapped.read_only:
        with pytest.raises(ValueError, match="read-only"):
            mapped.add(np.array([10**9]), x[:1])


def test_stale_or_damaged_files_load_as_none(data, tmp_path: Path) -> None:
    ids, x, _ = data
    assert VectorIndex.load(tmp_path / "missing") is None
    VectorIndex.build(ids, x, kind="flat").save(tmp_path, {"generation": 4})
    stamp_path = tmp_path / STAMP_NAME
    stamp = json.loads(stamp_path.read_text())
    # A generation is the caller's to compare: it comes back as saved.
    assert VectorIndex.load(tmp_path)[1]["generation"] == 4
    # Index replaced but stamp not (crash between the two renames): counts disagree.
    VectorIndex.build(ids[:10], x[:10], kind="flat").save(tmp_path / "other", {"generation": 5})
    (tmp_path / "other" / INDEX_NAME).replace(tmp_path / INDEX_NAME)
    assert VectorIndex.load(tmp_path) is None
    VectorIndex.build(ids, x, kind="flat").save(tmp_path, {"generation": 4})
    stamp_path.write_text(json.dumps({**stamp, "format": 999}))
    assert VectorIndex.load(tmp_path) is None
    stamp_path.write_text("{broken")
    assert VectorIndex.load(tmp_path) is None
    stamp_path.write_text(json.dumps(stamp))
    (tmp_path / INDEX_NAME).write_bytes(b"not a faiss index")
    assert VectorIndex.load(tmp_path) is None
