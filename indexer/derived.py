"""Keep FAISS and the lexical index in step with the store they are derived from.

Both are stamped with the store's generation and model. A stamp that does not match the store
(a crash between a document commit and the index write, a copied directory, another model) means
the index is rebuilt from what the store holds: stored vectors for FAISS, stored passage text for
the lexical index. Nothing is ever re-embedded here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer import vectors as vector_files
from indexer.lexical import LexicalIndex
from indexer.stamps import read_stamp, stamp_key
from indexer.store import STORE_FILE, Change, Store
from indexer.vectors import INDEX_NAME, NORM_TOLERANCE, VectorIndex

LOAD_ATTEMPTS = 5
SAMPLE = 256
"""Passages `check` compares between the store and each index. Random damage to a fraction f of
the FAISS file is missed with probability (1-f)^256 (under 8% at f = 1%); all vector norms are
checked besides."""
OPEN_SAMPLE = 16
"""Vector norms looked at on every open (evenly spread over the file): microseconds, and random
bytes over any sizeable part of the vectors hit one of them."""
VECTOR_TOLERANCE = 1e-5
"""FAISS holds the store's float32 vectors bit for bit; anything above rounding is damage."""
VECTORS_DIR = "vectors"
LEXICAL_DIR = "lexical"


class DerivedIndexes:
    """The FAISS and lexical indexes of one archive directory."""

    def __init__(self, store: Store):
        self.store = store
        self.vectors_path = store.directory / VECTORS_DIR
        self.lexical_path = store.directory / LEXICAL_DIR
        self._vectors: VectorIndex | None = None
        self._lexical: LexicalIndex | None = None
        self._seen: dict[str, tuple[int, int, int] | None] = {"vectors": None, "lexical": None}
        """The stamp file (inode, size, mtime) each loaded index was read under: another process
        that writes an index replaces its stamp, so one stat per search tells a long-lived reader
        (a server) to load the new one."""
        self._lock = threading.Lock()
        vector_files.search_on_one_thread()
        self.notes: list[str] = []
        """What a reader should be told about the indexes it searches (stale, rebuilt in memory)."""

    @staticmethod
    def present(directory: Path) -> list[str]:
        """The derived index folders that exist in `directory` (evidence that an archive was there)."""
        return [name for name in (VECTORS_DIR, LEXICAL_DIR) if (Path(directory) / name).exists()]

    def _stamp(self) -> dict[str, object]:
        model = self.store.model()
        return {
            "generation": self.store.generation,
            "model": model[0] if model else None,
            "dim": model[1] if model else None,
            "built_at": time.time(),
        }

    def _stale(self, name: str, stamp: dict) -> str | None:
        """Why an index stamped `stamp` does not match the store, in words; None when it does."""
        generation = stamp.get("generation")
        if generation != self.store.generation:
            return (
                f"{name} is at generation {generation}, the store at {self.store.generation} "
                "(a write was interrupted, or the store was restored or copied without it)"
            )
        model = self.store.model()
        if model is not None and (stamp.get("model"), stamp.get("dim")) != model:
            return (
                f"{name} was written for model {stamp.get('model')} ({stamp.get('dim')} dimensions), "
                f"the store holds {model[0]} ({model[1]} dimensions)"
            )
        return None

    def foreign(self) -> str | None:
        """Why the store cannot be the one these indexes were derived from, or None.

        A store that has never committed anything (generation 0) beside indexes written at a later
        generation was replaced by a new, empty one: opening it would rebuild the indexes from
        nothing and the archive would be lost without a word.
        """
        if self.store.generation:
            return None
        generations = [self._vector_stamp().get("generation"), (LexicalIndex.read_stamp(self.lexical_path) or {}).get("generation")]
        ahead = max((g for g in generations if isinstance(g, int)), default=0)
        if not ahead:
            return None
        return (
            f"{self.store.directory / STORE_FILE} is a new, empty store, but the indexes beside it were "
            f"built from a store at generation {ahead}: the archive's store was replaced or lost. Restore "
            f"{STORE_FILE} from a backup; to start over instead, ingest into a new directory"
        )

    def _vector_stamp(self) -> dict:
        return read_stamp(self.vectors_path) or {}

    def problems(self, *, thorough: bool = True) -> list[str]:
        """What is stale, missing or damaged, one line each naming the index (empty when both match
        the store). `thorough` (check) compares SAMPLE stored vectors with FAISS's copies, checks
        every FAISS vector's norm and SAMPLE passage ids in the lexical index; otherwise (every
        open) only OPEN_SAMPLE norms are looked at, which catches random bytes over the vectors."""
        found = []
        passages = self.store.counts()["passages"]
        vectors_seen = stamp_key(self.vectors_path)
        loaded = VectorIndex.load(self.vectors_path)
        faiss_file = self.vectors_path / INDEX_NAME
        if loaded is None:
            found.append(
                f"vector index {faiss_file} is missing" if not faiss_file.exists()
                else f"vector index {faiss_file} is unreadable or does not match its stamp"
            )
        elif reason := self._stale(f"vector index {faiss_file}", loaded[1]):
            found.append(reason)
        elif len(loaded[0]) != passages:
            found.append(f"vector index {faiss_file} holds {len(loaded[0])} passages, the store {passages}")
        elif not (damage := self._vector_damage(loaded[0], faiss_file, thorough)):
            self._keep("vectors", loaded[0], vectors_seen)  # sound: the search that follows uses this copy
        else:
            found += damage
        lexical_seen = stamp_key(self.lexical_path)
        lexical = LexicalIndex.read(self.lexical_path)
        if lexical is None:
            found.append(
                f"lexical index {self.lexical_path} is missing" if not self.lexical_path.exists()
                else f"lexical index {self.lexical_path} is unreadable"
            )
        elif lexical.stamp is None:
            found.append(f"lexical index {self.lexical_path} has no stamp, or one of another format or analysis")
        elif reason := self._stale(f"lexical index {self.lexical_path}", lexical.stamp):
            found.append(reason)
        elif len(lexical) != passages:
            found.append(f"lexical index {self.lexical_path} holds {len(lexical)} passages, the store {passages}")
        elif thorough and (missing := len(sample := self._sample_ids()) - lexical.count_present(sample)):
            found.append(f"lexical index {self.lexical_path} lacks {missing} of {len(sample)} sampled passages")
        else:
            self._keep("lexical", lexical, lexical_seen)  # sound: the search that follows uses this copy
        return found

    def _sample_ids(self) -> np.ndarray:
        ids = self.store.passage_ids()
        if len(ids) <= SAMPLE:
            return ids
        return np.random.default_rng().choice(ids, SAMPLE, replace=False)

    def _vector_damage(self, index: VectorIndex, faiss_file: Path, thorough: bool) -> list[str]:
        """Vectors in the FAISS file that are not what the store holds."""
        found = []
        bad_norms = index.norm_damage(None if thorough else OPEN_SAMPLE)
        if bad_norms:
            found.append(f"vector index {faiss_file} is damaged: {bad_norms} vectors are not unit length")
        model = self.store.model()
        if thorough and model:
            ids, stored = self.store.passage_vectors(model[0], self._sample_ids())
            held_ids, held = index.vectors_of(ids)
            held = held[np.argsort(held_ids)]  # both in passage id order
            if len(held_ids) != len(ids):
                found.append(f"vector index {faiss_file} lacks {len(ids) - len(held_ids)} of {len(ids)} sampled passages")
            elif (differ := int((np.abs(held - stored) > VECTOR_TOLERANCE).any(axis=1).sum())):
                found.append(
                    f"vector index {faiss_file} is damaged: {differ} of {len(ids)} sampled vectors differ from the store's"
                )
            stored_norms = np.linalg.norm(stored.astype(np.float64), axis=1)
            if (bad := int((~np.isfinite(stored_norms) | (np.abs(stored_norms - 1.0) > NORM_TOLERANCE)).sum())):
                found.append(
                    f"{self.store.directory / STORE_FILE}: {bad} of {len(ids)} sampled stored vectors are damaged "
                    "(not unit length); rebuild cannot repair them: re-ingest the affected files"
                )
        return found

    def rebuild(self) -> None:
        """Write both indexes afresh from the store (temp + rename inside each index). Call under
        the writer lock; on an OS error (a full disk) the old files stay as they were and no temp
        file is left."""
        self.remove_leftovers()
        model = self.store.model()
        stamp = self._stamp()
        if model is None:
            ids, matrix = np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32)
        else:
            ids, matrix = self.store.passage_vectors(model[0])
        vectors = VectorIndex.build(ids, matrix)
        vectors.save(self.vectors_path, stamp)
        self._keep("vectors", vectors, stamp_key(self.vectors_path))
        lexical = LexicalIndex.rebuild(self.lexical_path, self.store.passage_rows(), stamp)
        self._keep("lexical", lexical, stamp_key(self.lexical_path))

    def remove_leftovers(self) -> None:
        """Temp files and build folders of writers that were killed or failed (under the writer
        lock every one of them is dead)."""
        vector_files.remove_leftovers(self.vectors_path)
        LexicalIndex.remove_leftovers(self.lexical_path)

    def apply(self, change: Change, previous_generation: int) -> None:
        """Follow the store after `change`; rebuild instead when the indexes were not at
        `previous_generation` (the store's generation before the change) to begin with."""
        if not self._at(previous_generation):
            self.rebuild()
            return
        if not (change.added or change.removed):
            return  # an unchanged re-run rewrites nothing
        self.remove_leftovers()
        vectors, lexical = self.vectors(), self.lexical()
        if change.removed:
            vectors.remove(np.asarray(change.removed, dtype=np.int64))
        if change.added:
            ids, matrix = self.store.passage_vectors(self.store.model()[0], change.added)  # type: ignore[index]
            vectors.add(ids, matrix)
        stamp = self._stamp()
        lexical.update(self.store.passage_rows(change.added), change.removed_docs, stamp)
        self._keep("lexical", lexical, stamp_key(self.lexical_path))
        vectors.save(self.vectors_path, stamp)
        self._keep("vectors", vectors, stamp_key(self.vectors_path))

    def _at(self, generation: int) -> bool:
        """Both indexes stamped at `generation` and for the store's model."""
        vector_stamp = self._vector_stamp()
        lexical_stamp = LexicalIndex.read_stamp(self.lexical_path)
        model = self.store.model()
        return bool(
            vector_stamp and lexical_stamp
            and all(
                s.get("generation") == generation and (model is None or (s.get("model"), s.get("dim")) == model)
                for s in (vector_stamp, lexical_stamp)
            )
        )

    def dense(self, vector: np.ndarray, k: int, *, allowed_docs: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """Up to k (passage id, cosine) for one query vector, best first, among the passages of
        `allowed_docs` (FAISS filters by passage id, so the store maps the documents to theirs)."""
        allowed = None if allowed_docs is None else self.store.passage_ids(allowed_docs)
        return self.vectors().search(vector[None, :], k, allowed=allowed)[0]

    def _keep(self, name: str, index: VectorIndex | LexicalIndex, seen: tuple[int, int, int] | None) -> None:
        with self._lock:
            setattr(self, f"_{name}", index)
            self._seen[name] = seen

    def _current(self, name: str) -> tuple[int, int, int] | None:
        """The stamp key of index `name` when the copy held is no longer the one on disk (another
        process wrote a newer one), else None."""
        held = getattr(self, f"_{name}")
        seen = stamp_key(self.vectors_path if name == "vectors" else self.lexical_path)
        return seen if held is None or seen != self._seen[name] else None

    def vectors(self) -> VectorIndex:
        """The FAISS index as last written (reloaded when another process wrote a newer one); an
        empty one while none has been written yet.

        A writer replaces the index file and then its stamp; a reader that opens between the two
        sees them disagree, so it tries again for a moment before treating the index as absent.
        """
        if (seen := self._current("vectors")) is not None or self._vectors is None:
            loaded = None
            for attempt in range(LOAD_ATTEMPTS):
                loaded = VectorIndex.load(self.vectors_path)
                if loaded is not None or not self.vectors_path.exists():
                    break
                time.sleep(0.02 * (attempt + 1))
            if loaded is not None:
                self._keep("vectors", loaded[0], seen)
            elif self._vectors is None:
                model = self.store.model()
                dim = model[1] if model else 1
                return VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32))
        return self._vectors  # type: ignore[return-value]

    def lexical(self) -> LexicalIndex:
        """The lexical index as last written (reopened when another process wrote a newer one). A
        read-only archive opens it without writing, and when it is missing or unreadable searches one
        built in memory from the store's passages."""
        seen = self._current("lexical")
        if seen is None and self._lexical is not None:
            return self._lexical
        if not self.store.read_only:
            lexical = LexicalIndex.open(self.lexical_path)
        elif (found := LexicalIndex.read(self.lexical_path)) is not None:
            lexical = found
        elif self._lexical is not None:
            return self._lexical
        else:
            self.notes.append(
                f"lexical index {self.lexical_path} is missing or unreadable and the archive is read-only; "
                "searching passages indexed in memory from the store"
            )
            lexical = LexicalIndex.in_memory(self.store.passage_rows())
        self._keep("lexical", lexical, seen)
        return lexical
