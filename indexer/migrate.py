"""Copy an embedded archive into a PostgreSQL database: documents, pages, passages, references,
lookup keys, failures and the stored vectors, with their ids, so nothing is re-embedded and a
passage is the same passage in both. Then verify the copy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from indexer.errors import StoreError
from indexer.store import Store

if TYPE_CHECKING:  # psycopg is imported only where a database is used
    from indexer.postgres import PostgresStore

VERIFY_SAMPLE = 256
"""Passages whose vectors are compared between the two archives after the copy (as `check` samples)."""


@dataclass
class MigrationReport:
    documents: int
    passages: int
    problems: list[str] = field(default_factory=list)
    """Differences found between the source and the copy (empty when they agree)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def migrate(
    source: Store, target: PostgresStore, *, progress: Callable[[int, int], None] | None = None
) -> MigrationReport:
    """Copy `source` into the empty archive `target`, one transaction per document, then compare
    counts, every passage id and VERIFY_SAMPLE sampled vectors. Raises StoreError when the target
    already holds documents or another model. Hold both writer locks while calling."""
    model = source.model()
    if target.counts()["documents"]:
        raise StoreError(
            f"the database {target.location} already holds an archive; migrate into an empty database"
        )
    recorded = target.model()
    if model and recorded and recorded != model:
        raise StoreError(f"the database {target.location} is set up for model {recorded[0]}, the archive holds {model[0]}")
    if model and not recorded:
        target.set_model(*model)
    total = source.counts()["documents"]
    copied = passages = 0
    for stored in source.stored_documents():
        target.import_document(stored)
        copied += 1
        passages += len(stored.passages)
        if progress:
            progress(copied, total)
    for failure in source.failures():
        target.record_failure(str(failure["path"]), None, str(failure["stage"]), str(failure["error"]))
    target.finish_import()
    return MigrationReport(copied, passages, differences(source, target))


def differences(source: Store, target: PostgresStore) -> list[str]:
    """What differs between an archive and its copy: counts, passage ids, sampled vectors."""
    found = []
    theirs, ours = source.counts(), target.counts()
    for name in ("documents", "pages", "passages", "vectors", "failures"):
        if theirs[name] != ours[name]:
            found.append(f"{name}: {theirs[name]} in the archive, {ours[name]} in the copy")
    ids = source.passage_ids()
    if not np.array_equal(np.sort(ids), target.passage_ids()):
        found.append("the copy's passage ids differ from the archive's")
    model = source.model()
    if model and len(ids):
        sample = np.random.default_rng().choice(ids, min(VERIFY_SAMPLE, len(ids)), replace=False)
        their_ids, their_vectors = source.passage_vectors(model[0], sample)
        our_ids, our_vectors = target.passage_vectors(model[0], sample)
        if not (np.array_equal(their_ids, our_ids) and np.array_equal(their_vectors, our_vectors)):
            found.append(f"sampled vectors differ between the archive and the copy ({len(sample)} compared)")
    return found
