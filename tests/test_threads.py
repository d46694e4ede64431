"""Issue 15: one `Archive` shared by a server's threads while another process ingests.

Eight threads make 200 mixed calls each (dense and identifier searches, show, related) on one open
archive while a real `archive ingest` process commits new letters into it; every answer must equal
the serial answer for the documents that were there before. Afterwards the same archive object,
never reopened, finds the newly ingested letters.
"""

from __future__ import annotations

import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import pytest

from archive import Archive
from archive.search import MAX_K
from tests.test_crash import (
    NEW_MOTIES,
    ingest_later_letter,
    seeded_archive,
    start_ingest,
)

THREADS = 8
CALLS = 200
QUERIES = ["werksfeer op het ministerie", "motie spoor", "Kamervragen antwoord minister", "veiligheid ambtenaren"]


@pytest.fixture
def shared_dir(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    target = tmp_path / "idx"
    shutil.copytree(seeded_archive(tmp_path_factory), target)
    return target


def answers(archive: Archive, call: tuple, seeded: set[str]) -> object:
    """One call's answer, restricted to what ingesting other letters cannot change: the dense
    ranking (exact cosine, every passage) of the documents that were already there."""
    kind, arg = call
    if kind == "dense":
        return [(h.document, h.passage_id, h.score) for h in archive.search(arg, k=MAX_K, mode="dense")
                if h.document in seeded]
    if kind == "identifier":
        return archive.search(arg, k=1)[0].document
    if kind == "show":
        return asdict(archive.show(arg))
    return [(r.kind, r.target, r.reason) for r in archive.related(arg, k_similar=0)]


def test_eight_threads_share_an_archive_while_another_process_ingests(shared_dir: Path, tmp_path: Path) -> None:
    archive = Archive.open(shared_dir)
    seeded = {d.key for d in archive.store.documents()}
    keys = sorted(seeded)
    calls = (
        [("dense", q) for q in QUERIES] + [("identifier", "2022-0000088502")]
        + [("show", k) for k in keys] + [("related", k) for k in keys]
    )
    serial = {call: answers(archive, call, seeded) for call in calls}
    generation = archive.refresh()

    letters = tmp_path / "new"
    letters.mkdir()
    for source in NEW_MOTIES:
        shutil.copyfile(source, letters / source.name)
    ingest = start_ingest(letters, shared_dir)
    try:
        deadline = time.monotonic() + 60
        while not (shared_dir / "write.lock").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)  # the writer holds its lock before it commits anything

        def worker(seed: int) -> list[tuple]:
            rng = random.Random(seed)
            wrong = []
            for _ in range(CALLS):
                call = rng.choice(calls)
                if (got := answers(archive, call, seeded)) != serial[call]:
                    wrong.append((call, got))
            return wrong

        with ThreadPoolExecutor(THREADS) as pool:
            wrong = [w for result in pool.map(worker, range(THREADS)) for w in result]
        still_ingesting = ingest.poll() is None
        assert ingest.wait(timeout=600) == 0
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert not wrong, wrong[:3]
    assert still_ingesting or archive.refresh() > generation, "the threads ran while the ingest wrote"

    # the same object, never reopened, sees the letters ingested after it opened
    assert archive.refresh() > generation
    new = {d.key for d in archive.store.documents()} - seeded
    assert len(new) == len(NEW_MOTIES)
    for source in NEW_MOTIES:
        words = " ".join(source.read_text(encoding="utf-8").split()[40:60])
        assert archive.search(words, k=3, mode="lexical")[0].document in new
        assert archive.search(words, k=3, mode="dense")[0].document in new
    archive.close()


def test_a_long_lived_archive_sees_a_document_ingested_after_it_opened(shared_dir: Path, tmp_path: Path) -> None:
    reader = Archive.open(shared_dir)
    assert not reader.search("stoombrug bij de sluis van Kornwerderzand", k=5, mode="lexical")
    ingest_later_letter(tmp_path / "later", shared_dir)
    hits = reader.search("stoombrug bij de sluis van Kornwerderzand", k=5)
    assert hits and hits[0].document == "stoombrug"
    assert "Kornwerderzand" in reader.show("stoombrug").pages[0].text
    reader.close()
