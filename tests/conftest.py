"""Shared fixtures: a small archive built once per session from real letters with the real model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import Archive
from tests.postgres_server import PostgresServer, running

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "corpus"
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
CORPUS = SHARED / "corpus"
SEED_LETTERS = (DEMO / "brief-financien-2022-04-13.txt", DEMO / "kamerbrief-vws-2024-02-27.txt")
"""The two letters this project started from (the demo corpus holds more since `archive serve`)."""
IENW = CORPUS / "pdf" / "ienw_kamerbrieven_pdftextsplitter"



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not CORPUS.is_dir():
        raise pytest.UsageError(f"tests read real documents from {CORPUS}; put ../shared beside the repository")


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive of the demo corpus plus two IenW Kamerbrieven (PDF), built once."""
    folder = tmp_path_factory.mktemp("letters")
    for source in sorted(DEMO.iterdir()):
        shutil.copy(source, folder / source.name)
    for name in ("Kamerbrief_emissie_luchtvaart.pdf", "Kamerbrief_circulaire_economie.pdf"):
        shutil.copy(IENW / name, folder / name)
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        report = archive.ingest([folder])
    assert report.ok, report.failed
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL 18 + pgvector server for the session, on a Unix socket in a temp dir."""
    with running() as server:
        yield server


@pytest.fixture(scope="session")
def demo_url(demo_path: Path, postgres: PostgresServer) -> str:
    """The demo archive migrated into a PostgreSQL database (its vectors copied, nothing re-embedded)."""
    url = postgres.create("demo")
    with Archive.open(demo_path) as archive:
        report = archive.migrate(url)
    assert report.ok, report.problems
    return url


@pytest.fixture
def demo(demo_path: Path) -> Archive:
    archive = Archive.open(demo_path)
    yield archive
    archive.close()


def doc_of(archive: Archive, needle: str) -> str:
    """The key of the stored document whose file name contains `needle`."""
    [row] = [d for d in archive.store.documents() if needle in Path(d.path).name]
    return row.key
