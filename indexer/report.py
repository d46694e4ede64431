"""What an ingest run reports, kept apart from the run itself so that importing it stays cheap
(`archive search` must not pay for the extractors' imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileError:
    path: str
    stage: str
    """discover, read, extract, embed, store (or, for a warning, the limit): where it went wrong."""
    error: str


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Unchanged since the last run (same content hash)."""
    removed: list[str] = field(default_factory=list)
    failed: list[FileError] = field(default_factory=list)
    warnings: list[FileError] = field(default_factory=list)
    """Files stored, but past a limit worth a look (stage "passages": more than max_passages)."""
    pages: int = 0
    passages: int = 0
    embedded: int = 0
    """Passages actually sent to the encoder (identical or known passages are not)."""
    seconds: float = 0.0
    encoder_seconds: float = 0.0
    precision: str = ""
    """How passages were embedded, e.g. "fp32 (cpu: no AMX/AVX512-BF16)"; empty when none were."""

    @property
    def ok(self) -> bool:
        return not self.failed
