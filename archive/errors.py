"""The library's errors, all under `ArchiveError`: the write side's (from indexer.errors) and the
query side's below. Worded for a library user; the CLI and the HTTP API add their own hints."""

from indexer.errors import (
    ArchiveError, ArchiveLocked, ArchiveNotFound, ExtractError, ModelBuildError, RayIngestError, StorageFull,
    StoreError,
)


class ModelMismatch(ArchiveError):
    """The archive was built with another embedding model than the one asked for."""


class BadQuery(ArchiveError):
    """A query or search option that cannot be answered (empty query, absurd k, unknown mode)."""


class DocumentNotFound(ArchiveError):
    """No stored document matches the id, path, kenmerk or Kamerstuk number given."""


__all__ = [
    "ArchiveError", "ArchiveLocked", "ArchiveNotFound", "BadQuery", "DocumentNotFound", "ExtractError", "ModelBuildError",
    "ModelMismatch", "RayIngestError", "StorageFull", "StoreError",
]
