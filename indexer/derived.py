"""Keep FAISS and the lexical index in step with the store they are derived from.

Both are stamped with the store's generation and model. A stamp that does not match the store
(a crash between a document commit and the index write, a copied directory, another model) means
the index is rebuilt from what the store holds: stored vectors for FAISS, stored passage text for
the lexical index. Nothing is ever re-embedded here.
"""

from __future__ import annotations

import time

import numpy as np

from indexer.lexical import LexicalIndex
from indexer.store import Change, Store
from indexer.vectors import VectorIndex

LOAD_ATTEMPTS = 5
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

    def _stamp(self) -> dict[str, object]:
        model = self.store.model()
        return {
            "generation": self.store.generation,
            "model": model[0] if model else None,
            "dim": model[1] if model else None,
            "built_at": time.time(),
        }

    def _current(self, stamp: dict | None) -> bool:
        if not stamp:
            return False
        model = self.store.model()
        return stamp.get("generation") == self.store.generation and (
            model is None or (stamp.get("model"), stamp.get("dim")) == model
        )

    def problems(self) -> list[str]:
        """What is stale or missing (empty when both indexes match the store)."""
        found = []
        loaded = VectorIndex.load(self.vectors_path)
        if loaded is None:
            found.append("vector index missing or unreadable")
        elif not self._current(loaded[1]):
            found.append(f"vector index is at generation {loaded[1].get('generation')}, store at {self.store.generation}")
        elif len(loaded[0]) != self.store.counts()["passages"]:
            found.append(f"vector index holds {len(loaded[0])} passages, store {self.store.counts()['passages']}")
        lexical = LexicalIndex.open(self.lexical_path) if self.lexical_path.exists() else None
        if lexical is None:
            found.append("lexical index missing")
        elif not self._current(lexical.stamp):
            found.append(
                f"lexical index is at generation {(lexical.stamp or {}).get('generation')}, store at {self.store.generation}"
            )
        return found

    def rebuild(self) -> None:
        """Write both indexes afresh from the store (temp + rename inside each index)."""
        model = self.store.model()
        stamp = self._stamp()
        if model is None:
            ids, matrix = np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32)
        else:
            ids, matrix = self.store.passage_vectors(model[0])
        self._vectors = VectorIndex.build(ids, matrix)
        self._vectors.save(self.vectors_path, stamp)
        self._lexical = LexicalIndex.rebuild(self.lexical_path, self.store.passage_rows(), stamp)

    def apply(self, change: Change, previous_generation: int) -> None:
        """Follow the store after `change`; rebuild instead when the indexes were not at
        `previous_generation` (the store's generation before the change) to begin with."""
        if not self._at(previous_generation):
            self.rebuild()
            return
        if not (change.added or change.removed):
            return  # an unchanged re-run rewrites nothing
        vectors, lexical = self.vectors(), self.lexical()
        if change.removed:
            vectors.remove(np.asarray(change.removed, dtype=np.int64))
        if change.added:
            ids, matrix = self.store.passage_vectors(self.store.model()[0], change.added)  # type: ignore[index]
            vectors.add(ids, matrix)
        stamp = self._stamp()
        lexical.update(self.store.passage_rows(change.added), change.removed_docs, stamp)
        vectors.save(self.vectors_path, stamp)

    def _at(self, generation: int) -> bool:
        loaded = VectorIndex.load(self.vectors_path)
        lexical_stamp = LexicalIndex.open(self.lexical_path).stamp if self.lexical_path.exists() else None
        return bool(
            loaded and lexical_stamp
            and loaded[1].get("generation") == generation
            and lexical_stamp.get("generation") == generation
        )

    def vectors(self) -> VectorIndex:
        """The FAISS index as last written; an empty one while none has been written yet.

        A writer replaces the index file and then its stamp; a reader that opens between the two
        sees them disagree, so it tries again for a moment before treating the index as absent.
        """
        if self._vectors is None:
            for attempt in range(LOAD_ATTEMPTS):
                loaded = VectorIndex.load(self.vectors_path)
                if loaded is not None or not self.vectors_path.exists():
                    break
                time.sleep(0.02 * (attempt + 1))
            if loaded is None:
                model = self.store.model()
                dim = model[1] if model else 1
                return VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32))
            self._vectors = loaded[0]
        return self._vectors

    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex.open(self.lexical_path)
        return self._lexical
