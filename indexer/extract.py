"""Pick the extractor for a file by its suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from indexer.errors import ExtractError
from indexer.extract_pdf import extract_pdf
from indexer.extract_text import extract_text
from indexer.extract_xml import extract_xml, official_fields
from indexer.records import Extraction

EXTRACTORS: dict[str, Callable[[Path], Extraction]] = {
    ".pdf": extract_pdf,
    ".txt": extract_text,
    ".md": extract_text,
    ".xml": extract_xml,
}

MAX_FILE_BYTES = 200 * 1024 * 1024
"""Larger files are refused: a letter archive has no 200 MB letters, and one would stall the run."""


def extract(path: Path) -> Extraction:
    """Return the file's cleaned pages; raise ExtractError naming the reason it cannot be read."""
    extractor = EXTRACTORS.get(path.suffix.lower())
    if extractor is None:
        raise ExtractError(f"unsupported file type {path.suffix or '(none)'}; expected .pdf, .txt, .md or .xml")
    size = path.stat().st_size
    if size == 0:
        raise ExtractError("empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ExtractError(f"file too large ({size / 2**20:.0f} MiB > {MAX_FILE_BYTES / 2**20:.0f} MiB)")
    extraction = extractor(path)
    # A publication's official metadata.xml (officielebekendmakingen) wins over what its text says.
    extraction.fields = {**official_fields(path), **extraction.fields}
    return extraction
