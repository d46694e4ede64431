"""archive: Dutch government correspondence as a searchable archive with cited answers.

    from archive import Archive
    a = Archive.open("index/", create=True)
    a.ingest(["corpus/"])
    for hit in a.search("onveilige werksfeer op het ministerie", k=5):
        print(hit.citation.text, hit.score, hit.text)
"""

from archive.archive import Archive, CheckReport, DocumentView
from archive.citations import Citation
from archive.errors import (
    ArchiveError, ArchiveLocked, BadQuery, DocumentNotFound, ExtractError, ModelBuildError, ModelMismatch, StorageFull,
    StoreError,
)
from archive.evaluate import EvalReport, Metrics
from archive.related import Relation  # noqa: F401  (public API; see archive.related)
from archive.search import Filters, Hit
from indexer.report import FileError, IngestReport

__all__ = [
    "Archive", "ArchiveError", "ArchiveLocked", "BadQuery", "CheckReport", "Citation", "DocumentNotFound",
    "DocumentView", "EvalReport", "ExtractError", "FileError", "Filters", "Hit", "IngestReport", "Metrics",
    "ModelBuildError", "ModelMismatch", "StorageFull", "StoreError",
]
