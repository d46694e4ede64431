"""The library's errors: raised here, worded for people at the CLI edge."""

from indexer.store import ArchiveLocked, StoreError


class ArchiveError(Exception):
    """Base of every error the archive raises on purpose."""


class ModelMismatch(ArchiveError):
    """The archive was built with another embedding model than the one asked for."""


class BadQuery(ArchiveError):
    """A query or search option that cannot be answered (empty query, absurd k, unknown mode)."""


class StorageFull(ArchiveError):
    """The disk (or a file size limit) ran out while writing the archive; what was committed stays."""


class DocumentNotFound(ArchiveError):
    """No stored document matches the id, path, kenmerk or Kamerstuk number given."""


__all__ = ["ArchiveError", "ArchiveLocked", "BadQuery", "DocumentNotFound", "ModelMismatch", "StorageFull", "StoreError"]
