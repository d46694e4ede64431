"""The dense index over passage vectors: FAISS, inner product on L2-normalised e5 vectors (= cosine).

Kinds, and why. Figures are from bench/scale.py on this project's 2-core machine while other jobs
kept its load average at 5-11, so absolute latencies are pessimistic; see bench/RESULTS.md.

- `flat`: exact search (IndexIDMap over IndexFlatIP). Recall 1.0 and a build that is a copy, but
  every query scans every vector: warm p50 16-39 ms at 100k passages, 256-333 ms at 1M.
- `ivf`: IndexIVFFlat, nlist ≈ √n, `IVF_NPROBE` lists visited. At 1M: built in 30-72 s,
  recall@10 0.960 at p50 15-39 ms (nprobe 64), 0.985 at 24-82 ms (nprobe 128). Removes
  natively. This is `auto`'s large kind.
- `hnsw`: IndexHNSWFlat, M=32, efConstruction 80. The fastest queries (recall 0.96 at 1.3 ms with
  efSearch 256 at 100k) but its graph build took 62-105 s (38-45 s CPU) at 100k and had not finished
  after 17 min at 1M on the shared two cores; a stale-stamp rebuild of that length is not an
  acceptable default, so it is offered as an explicit `kind="hnsw"`. It cannot delete: see below.

`auto` picks flat up to `AUTO_EXACT_MAX` passages and `AUTO_LARGE_KIND` above, and an index built
by `auto` promotes itself when `add` takes it past the threshold, so an archive that only ever
grows incrementally still ends up with the fast kind.

Filters (`allowed`) become a bitmap selector over passage ids (ids are SQLite rowids, so the
bitmap is small), tested before any distance is computed. Flat is therefore exact and pays one bit
test per vector. Subsets below `EXACT_SUBSET_SHARE` of the index are scored exhaustively on the
other kinds too (ivf visits every list; hnsw scans its flat storage with a bitmap of storage
positions): a graph walk or a few probed lists find too few allowed vectors when most are
filtered out. Larger subsets widen the search by 1/√share (nprobe, efSearch) instead.

FAISS runs on one OpenMP thread in a process that searches an archive (`search_on_one_thread`,
called once when an archive's indexes are first opened): a query is one vector, parallelism comes
from concurrent requests, and OpenMP workers spin while they wait. FAISS's thread count is
process-wide, so it is set once rather than toggled around each search, which would race between
a server's threads.

Deletes: flat and ivf remove vectors; HNSW cannot, so a removed passage's slot is marked with id
-1 and every search excludes -1 with a selector; the graph is rebuilt from its own stored vectors
once a quarter of it is marked. The marks live in the index file itself, so saving stays one file
plus its stamp. `load(mmap=True)` maps flat/HNSW vectors from the file (fast open, shared page
cache); such an index is read-only because FAISS aborts the process if mapped storage is resized.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

from indexer.stamps import read_stamp, write_stamp

FORMAT_VERSION = 1
"""Bumped when the file layout or the meaning of a kind changes; other versions load as None."""

KINDS = ("flat", "ivf", "hnsw")
AUTO_EXACT_MAX = 100_000
"""Largest archive `auto` serves with exact search: p50 16-39 ms at 100k, 256-333 ms at 1M."""
AUTO_LARGE_KIND = "ivf"

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256
"""Recall@10 0.960 at 100k (bench/scale.py); read at search time, so retuning needs no rebuild."""
HNSW_MAX_DELETED_FRACTION = 0.25

IVF_NPROBE = 64
"""Lists visited per query. With nlist ≈ √n recall depends on nprobe, hardly on n: 64 gave
recall@10 0.963 at 100k and 0.960 at 1M with p50 15-39 ms at 1M (machine load 5-11); 96 gave
0.978-0.985 but 22-63 ms, over the 50 ms budget when the machine is busy. Read at search time,
so changing it needs no rebuild."""
IVF_TRAIN_PER_LIST = 40

EXACT_SUBSET_SHARE = 0.1
"""`allowed` subsets below this share of the index are scored exhaustively (ivf: every list;
hnsw: the stored vectors) with a bitmap selector: n bit tests plus one dot product per allowed
vector, exact and cheaper than a filtered walk that must skip most of what it meets."""
BITMAP_MAX_ID = 2**25
"""Filters over ids below this use a bitmap selector (4 MiB at most), above it faiss' hash set."""

_ONE_THREAD = False


def search_on_one_thread() -> None:
    """Set FAISS to one OpenMP thread for this process, once. A one-query search of a 100k flat
    index took p50 112 ms on two threads and 26 ms on one (2 cores shared with other jobs, 50
    queries each); before, the count was toggled around every search, which two threads searching
    at once would undo for each other."""
    global _ONE_THREAD
    if not _ONE_THREAD:
        faiss.omp_set_num_threads(1)
        _ONE_THREAD = True

NORM_TOLERANCE = 1e-3
"""e5 vectors are stored L2-normalised; float32 rounding keeps their norms within ~1e-6 of 1.
Random floats written over a vector give norms far from 1 (or inf/NaN)."""
NORM_CHUNK = 65_536
"""Vectors whose norms are computed at once (a view, no copy). All norms of 100k vectors took
0.1-0.2 s on the shared 2-core machine; a 16-vector sample on open, 0.5 ms."""

INDEX_NAME = "index.faiss"
_LIVE = faiss.IDSelectorRange(0, 2**63 - 1)
"""Passage ids are SQLite rowids (≥ 1); -1 marks a deleted HNSW slot."""


class VectorIndex:
    """Passage vectors searchable by inner product, keyed by passage id (int64)."""

    def __init__(self, index: faiss.Index, kind: str, dim: int, *, auto: bool, read_only: bool = False) -> None:
        self._index = index
        self.kind = kind
        self.dim = dim
        self.auto = auto
        self.read_only = read_only
        self._deleted = 0 if kind != "hnsw" else int((faiss.vector_to_array(index.id_map) < 0).sum())
        self._positions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """HNSW only: (id of each storage slot, the ids sorted, their slots), built on the first
        subset search and dropped on any change; spares each filtered query an O(n) id-map scan."""

    # --- building -------------------------------------------------------------------------------

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, *, kind: str = "auto") -> VectorIndex:
        """Index `vectors` (n × dim, L2-normalised) under passage `ids`; raise ValueError on shape,
        id or kind problems. `kind="auto"` chooses by size (see module docstring)."""
        ids, vectors = _checked(ids, vectors, vectors.shape[1] if vectors.ndim == 2 else -1)
        if kind not in (*KINDS, "auto"):
            raise ValueError(f"unknown index kind {kind!r}; expected auto or one of {KINDS}")
        auto = kind == "auto"
        if auto:
            kind = "flat" if len(ids) <= AUTO_EXACT_MAX else AUTO_LARGE_KIND
        return cls(_new_index(kind, ids, vectors), kind, vectors.shape[1], auto=auto)

    def __len__(self) -> int:
        return int(self._index.ntotal) - self._deleted

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under `ids`, replacing any vector already stored under one of them; raise
        ValueError if their dimension differs from a non-empty index's."""
        self._writable()
        if self._index.ntotal == 0 and np.ndim(vectors) == 2 and np.shape(vectors)[1] != self.dim:
            # An archive indexed before it had a model holds an empty placeholder index; the first
            # real vectors decide its dimension.
            replacement = VectorIndex.build(ids, vectors, kind="auto" if self.auto else self.kind)
            self._index, self.kind, self.dim, self._deleted = replacement._index, replacement.kind, replacement.dim, 0
            return
        ids, vectors = _checked(ids, vectors, self.dim)
        if not len(ids):
            return
        self._positions = None
        present = ids[np.isin(ids, self.ids())]
        if len(present):
            self.remove(present)
        if self.auto and self.kind == "flat" and len(self) + len(ids) > AUTO_EXACT_MAX:
            all_ids, all_vectors = self._contents()
            self._index = _new_index(AUTO_LARGE_KIND, np.concatenate([all_ids, ids]), np.vstack([all_vectors, vectors]))
            self.kind, self._deleted = AUTO_LARGE_KIND, 0
            return
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        """Forget the vectors of `ids`; ids not in the index are ignored."""
        self._writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return
        if self.kind != "hnsw":
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            return
        self._positions = None
        slots = faiss.vector_to_array(self._index.id_map)
        hit = np.isin(slots, ids)
        if not hit.any():
            return
        slots[hit] = -1
        faiss.copy_array_to_vector(slots, self._index.id_map)
        self._deleted += int(hit.sum())
        if self._deleted > HNSW_MAX_DELETED_FRACTION * self._index.ntotal:
            self._index = _new_index("hnsw", *self._contents())
            self._deleted = 0

    def ids(self) -> np.ndarray:
        """The passage ids stored, in storage order."""
        if self.kind == "ivf":
            invlists = self._index.invlists
            return np.concatenate(
                [np.zeros(0, dtype=np.int64)]
                + [
                    faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                    for i in range(invlists.nlist)
                    if invlists.list_size(i)
                ]
            )
        slots = faiss.vector_to_array(self._index.id_map)
        return slots[slots >= 0] if self._deleted else slots

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the live entries of a flat or HNSW index, read from its own storage."""
        slots = faiss.vector_to_array(self._index.id_map)
        stored = self._stored()
        live = slots >= 0
        return slots[live], np.ascontiguousarray(stored[live])

    def _stored(self) -> np.ndarray:
        """Zero-copy (ntotal × dim) view of the raw vectors of a flat or HNSW index."""
        inner = faiss.downcast_index(self._index.index)
        storage = inner if self.kind == "flat" else faiss.downcast_index(inner.storage)
        n = int(storage.ntotal)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(storage.get_xb(), n * self.dim).reshape(n, self.dim)

    def vectors_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their vectors as stored in the index) for `ids`: what `check` compares with
        the store's vectors. One pass over the id map (or the inverted lists)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.kind == "ivf":
            found_ids, found = [], []
            invlists = self._index.invlists
            for i in range(invlists.nlist):
                size = invlists.list_size(i)
                if not size:
                    continue
                list_ids = faiss.rev_swig_ptr(invlists.get_ids(i), size)
                hit = np.flatnonzero(np.isin(list_ids, ids))
                if len(hit):
                    codes = faiss.rev_swig_ptr(invlists.get_codes(i), size * invlists.code_size)
                    found_ids.append(list_ids[hit].copy())
                    found.append(codes.view(np.float32).reshape(size, self.dim)[hit].copy())
            if not found_ids:
                return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
            return np.concatenate(found_ids), np.vstack(found)
        slots = faiss.vector_to_array(self._index.id_map)
        hit = np.flatnonzero(np.isin(slots, ids) & (slots >= 0))
        return slots[hit], np.array(self._stored()[hit])

    def norm_damage(self, sample: int | None = None) -> int:
        """How many stored vectors are not unit length (or not finite): every vector put in is
        L2-normalised e5 output, so anything else is damage to the file. `sample` looks at about
        that many vectors spread over the storage (what an open can afford); None at all of them."""
        if self.kind == "ivf":
            invlists = self._index.invlists
            blocks = []
            for i in range(invlists.nlist):
                n = invlists.list_size(i)
                if n:
                    codes = faiss.rev_swig_ptr(invlists.get_codes(i), n * invlists.code_size)
                    blocks.append(codes.view(np.float32).reshape(n, self.dim)[: 1 if sample else n])
                if sample and len(blocks) >= sample:
                    break
        else:
            stored = self._stored()
            if sample is not None and len(stored) > sample:
                stored = stored[np.linspace(0, len(stored) - 1, sample).astype(np.int64)]
            blocks = [stored[start : start + NORM_CHUNK] for start in range(0, len(stored), NORM_CHUNK)]
        bad = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for block in blocks:
                squares = np.einsum("ij,ij->i", block, block)  # float32: |v|² is within 1e-6 of 1 for sound rows
                bad += int((~np.isfinite(squares) | (np.abs(squares - 1.0) > 2 * NORM_TOLERANCE)).sum())
        return bad

    def _writable(self) -> None:
        if self.read_only:
            # FAISS aborts the process when a memory-mapped index is resized; refuse first.
            raise ValueError("vector index was loaded with mmap=True and is read-only; load it with mmap=False to modify")

    # --- searching ------------------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Return, for each query vector, up to `k` `(passage_id, cosine)` pairs, best first.

        `allowed` restricts results to those passage ids (ids not in the index are ignored); the k
        returned are the best k among them, exactly for flat, for small subsets on every kind.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise ValueError(f"query dim {queries.shape[1]} != index dim {self.dim}")
        if k <= 0 or len(self) == 0:
            return [[] for _ in queries]
        if allowed is not None:
            allowed = np.unique(np.asarray(allowed, dtype=np.int64))
            allowed = allowed[allowed >= 0]
            if not len(allowed):
                return [[] for _ in queries]
            if self.kind == "hnsw" and len(allowed) < EXACT_SUBSET_SHARE * len(self):
                return self._exact_subset(queries, k, allowed)
        k = min(k, len(self) if allowed is None else min(len(self), len(allowed)))
        scores, labels = self._index.search(queries, k, params=self._params(k, allowed))
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
            for row_ids, row_scores in zip(labels, scores)
        ]

    def _params(self, k: int, allowed: np.ndarray | None) -> faiss.SearchParameters | None:
        """Per-call search parameters: the filter (or the deleted-slot guard) and the kind's effort."""
        selector = _id_selector(allowed) if allowed is not None else (_LIVE if self._deleted else None)
        share = 1.0 if allowed is None else len(allowed) / len(self)
        if self.kind == "hnsw":
            # A walk that skips most nodes needs a wider beam to meet k allowed ones.
            ef = min(4096, math.ceil(HNSW_EF_SEARCH / math.sqrt(min(1.0, share))))
            params = faiss.SearchParametersHNSW(efSearch=max(ef, k))
        elif self.kind == "ivf":
            nlist = self._index.nlist
            # Larger filtered searches visit more lists so that enough allowed vectors get scored.
            nprobe = nlist if share < EXACT_SUBSET_SHARE else math.ceil(IVF_NPROBE / math.sqrt(min(1.0, share)))
            params = faiss.SearchParametersIVF(nprobe=min(nlist, nprobe))
        elif selector is None:
            return None
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector  # faiss' wrapper keeps a reference for the params' lifetime
        return params

    def _exact_subset(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> list[list[tuple[int, float]]]:
        """Exact top-k over the allowed vectors of an HNSW index, searching its flat storage with a
        bitmap of storage positions (no graph walk, no copying of vectors)."""
        if self._positions is None:
            slots = faiss.vector_to_array(self._index.id_map)
            order = np.argsort(slots, kind="stable")
            self._positions = slots, slots[order], order
        slots, sorted_ids, order = self._positions
        at = np.minimum(np.searchsorted(sorted_ids, allowed), len(sorted_ids) - 1)
        positions = np.sort(order[at[sorted_ids[at] == allowed]])
        if not len(positions):
            return [[] for _ in queries]
        storage = faiss.downcast_index(faiss.downcast_index(self._index.index).storage)
        params = faiss.SearchParameters()
        params.sel = _id_selector(positions)
        scores, found = storage.search(queries, min(k, len(positions)), params=params)
        return [
            [(int(slots[j]), float(score)) for j, score in zip(row_found, row_scores) if j >= 0]
            for row_found, row_scores in zip(found, scores)
        ]

    # --- persistence ----------------------------------------------------------------------------

    def save(self, path: Path, stamp: dict) -> None:
        """Write `path/index.faiss`, then `path/stamp.json`, each via temp file + fsync + rename.

        The stamp goes last, so a crash in between leaves the previous stamp (another generation)
        beside the new index: the caller sees it as stale and rebuilds.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f".{INDEX_NAME}.{os.getpid()}.tmp"
        try:
            try:
                faiss.write_index(self._index, str(tmp))
            except RuntimeError as error:  # faiss reports a failed write (a full disk) this way
                raise OSError(f"could not write {tmp}: {error}") from error
            _fsync(tmp)
            os.replace(tmp, path / INDEX_NAME)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        write_stamp(path, {**stamp, **self._own_stamp()})

    def _own_stamp(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "auto": self.auto,
            "count": len(self),
            "dim": self.dim,
            "faiss": faiss.__version__,
        }

    @classmethod
    def load(cls, path: Path, *, mmap: bool = False) -> tuple[VectorIndex, dict] | None:
        """Read an index saved by `save`: (index, stamp), or None if missing, unreadable, of another
        format version, or not matching its stamp.

        `mmap=True` maps flat and HNSW vectors from the file instead of reading them (faster open,
        pages shared between processes, only touched pages resident); such an index is read-only.
        """
        path = Path(path)
        try:
            stamp = read_stamp(path, {"format": FORMAT_VERSION})
            if stamp is None or stamp.get("kind") not in KINDS:
                return None
            kind = stamp["kind"]
            mapped = mmap and kind != "ivf"
            flags = faiss.IO_FLAG_MMAP_IFC if mapped else 0
            index = faiss.read_index(str(path / INDEX_NAME), flags)
            loaded = cls(index, kind, int(index.d), auto=bool(stamp.get("auto")), read_only=mapped)
        except (OSError, ValueError, RuntimeError, AttributeError, KeyError, TypeError):
            return None
        if len(loaded) != stamp.get("count") or loaded.dim != stamp.get("dim"):
            return None
        return loaded, stamp


def _id_selector(ids: np.ndarray) -> faiss.IDSelector:
    """Membership test for sorted, unique, non-negative ids: a bitmap (one bit test per candidate)
    unless the largest id would make it big, then faiss' hash set."""
    if int(ids[-1]) >= BITMAP_MAX_ID:
        return faiss.IDSelectorBatch(ids)
    mask = np.zeros(int(ids[-1]) + 1, dtype=bool)
    mask[ids] = True
    return faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))


def _checked(ids: np.ndarray, vectors: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous int64 ids and float32 vectors, or ValueError saying what does not fit."""
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dim or dim <= 0:
        raise ValueError(f"vectors of shape {vectors.shape} do not fit dim {dim}")
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if len(ids) and ids.min() < 0:
        raise ValueError("passage ids must be non-negative")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("duplicate passage ids")
    return ids, vectors


def _new_index(kind: str, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        index = faiss.IndexIDMap(inner)
    else:
        nlist = max(1, min(int(round(math.sqrt(len(ids)))), len(ids) // IVF_TRAIN_PER_LIST))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        sample = vectors
        if len(vectors) > IVF_TRAIN_PER_LIST * nlist:
            rows = np.random.default_rng(0).choice(len(vectors), IVF_TRAIN_PER_LIST * nlist, replace=False)
            sample = vectors[np.sort(rows)]
        index.train(sample)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(path: Path) -> None:
    """Delete temp files a killed or failed `save` left in `path`. Call only under the archive's
    writer lock: only writers make them, so none is in use then."""
    for leftover in Path(path).glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
