"""Issue 6: one writer at a time, and readers that never see half a document.

A second ingest (or remove, or rebuild) while an ingest runs fails at once with ArchiveLocked, worded
by the CLI with the running process's id; searches while an ingest commits answer from whole
documents only and never crash. The running ingest is a real `archive ingest` process; to look at a
precise moment (lock held, between two document commits, after the last commit but before the
index write, between writing index.faiss and its stamp) it is paused with SIGSTOP, which to every
other process is a slow machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ArchiveLocked
from archive.cli import cli
from archive.search import MODES
from tests.test_crash import (
    ORIGINALS,
    Generation,
    descendants,
    reap,
    seeded_archive,
    stamp_generation,
    start_ingest,
    wait_for,
)

QUERIES = ["werksfeer op het ministerie", "motie spoor", "Kamervragen antwoord minister", "2022-0000088502"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crash test's seeded archive (built once per session); each test works on a copy."""
    return seeded_archive(tmp_path_factory)


@pytest.fixture
def letters(tmp_path: Path) -> Path:
    """The seeded letters plus eight new copies of them: a run that commits eight documents
    without loading the model (their passages' vectors are stored already)."""
    folder = tmp_path / "letters"
    folder.mkdir()
    for source in ORIGINALS:
        shutil.copyfile(source, folder / source.name)
    for n, source in enumerate(ORIGINALS + ORIGINALS[:3]):
        shutil.copyfile(source, folder / f"kopie{n}-{source.name}")
    return folder


@pytest.fixture
def running(seeded: Path, tmp_path: Path, letters: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    archive_dir = tmp_path / "idx"
    shutil.copytree(seeded, archive_dir)
    proc = start_ingest(letters, archive_dir)
    yield proc, archive_dir
    if proc.poll() is None:
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reap(family)


def lock_holder(archive_dir: Path) -> str:
    try:
        return (archive_dir / "write.lock").read_text()
    except OSError:
        return ""


def pause_when(proc: subprocess.Popen, condition) -> bool:  # noqa: ANN001
    if not wait_for(condition, proc, 0.0005):
        return False
    os.kill(proc.pid, signal.SIGSTOP)
    return True


def original_name(path: str) -> str:
    return re.sub(r"^kopie\d+-", "", Path(path).name)


def whole_document_hits(archive_dir: Path, counts: dict[str, int]) -> int:
    """Search every mode through a fresh `Archive` (as `archive search` does); every hit must come
    from a document stored with all its passages (`counts`: passages per original file name).
    Returns the number of hits seen."""
    seen = 0
    with Archive.open(archive_dir) as archive:
        for query in QUERIES:
            for mode in MODES:
                hits = archive.search(query, k=50, mode=mode)
                with archive.store.snapshot():
                    for hit in hits:
                        doc = archive.store.document_by_key(hit.document)
                        passages = archive.store.passages(archive.store.passage_ids([doc.id]).tolist())
                        assert passages[hit.passage_id].text == hit.text
                        assert len(passages) == counts[original_name(doc.path)], f"{doc.path} is half stored"
                seen += len(hits)
    return seen


def test_a_second_writer_fails_fast_with_the_running_ones_pid(running: tuple[subprocess.Popen, Path], letters: Path) -> None:
    proc, archive_dir = running
    assert pause_when(proc, lambda: lock_holder(archive_dir) == f"pid {proc.pid}"), "the ingest never took the lock"
    try:
        started = time.monotonic()
        second = CliRunner().invoke(cli, ["ingest", str(letters), "-a", str(archive_dir), "-q"])
        seconds = time.monotonic() - started
        assert second.exit_code == 1
        assert f"is being written by pid {proc.pid}; wait for it to finish and try again" in second.stderr
        assert seconds < 5, f"the second ingest took {seconds:.1f} s to give up"
        with Archive.open(archive_dir) as archive:
            with pytest.raises(ArchiveLocked, match=f"pid {proc.pid}"):
                archive.ingest([letters])
            with pytest.raises(ArchiveLocked):
                archive.remove([archive.store.documents()[0].key])
            with pytest.raises(ArchiveLocked):
                archive.rebuild()
        for command in (["rebuild"], ["remove", "2022-0000088502"]):
            refused = CliRunner().invoke(cli, [*command, "-a", str(archive_dir)])
            assert refused.exit_code == 1 and "is being written by pid" in refused.stderr, command
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=600) == 0
    with Archive.open(archive_dir) as archive:
        assert archive.check().ok
        assert len(archive.store.documents()) == len(ORIGINALS) + len(list(letters.iterdir()))


def test_searches_during_an_ingest_see_whole_documents_only(running: tuple[subprocess.Popen, Path], letters: Path) -> None:
    proc, archive_dir = running
    gen = Generation(archive_dir)
    before = gen()
    commits = len(list(letters.iterdir()))  # new paths, all of them: the seed came from another folder
    with Archive.open(archive_dir) as archive:  # the seeded documents are whole: count their passages
        counts = {Path(d.path).name: len(archive.store.passage_ids([d.id])) for d in archive.store.documents()}
    long_lived = Archive.open(archive_dir)
    moments = []
    try:
        for label, condition in [
            ("between commits", lambda: (gen() or 0) >= before + commits // 2),
            ("before the index write", lambda: (gen() or 0) >= before + commits),
        ]:
            if pause_when(proc, condition):
                now = gen()
                stale = stamp_generation(archive_dir, "vectors") != now
                moments.append((label, now - before, stale))
                try:
                    assert whole_document_hits(archive_dir, counts) > 0
                    for query in QUERIES:
                        long_lived.search(query, k=20)
                    result = CliRunner().invoke(cli, ["search", "motie spoor", "-a", str(archive_dir), "-k", "3"])
                    assert result.exit_code == 0, result.output
                finally:
                    os.kill(proc.pid, signal.SIGCONT)
        while proc.poll() is None:  # and free-running searches until it ends (these can meet the
            whole_document_hits(archive_dir, counts)  # torn index read of the last test below)
        assert proc.returncode == 0
        assert whole_document_hits(archive_dir, counts) > 0
        for query in QUERIES:
            long_lived.search(query, k=20)
    finally:
        long_lived.close()
        gen.close()
    print(f"\npaused at: {moments}")
    assert [m[0] for m in moments] == ["between commits", "before the index write"]
    assert 0 < moments[0][1] < commits and moments[1][1] == commits


def test_search_during_the_first_ingest_answers_instead_of_crashing(tmp_path: Path, letters: Path) -> None:
    """While the first ingest into a new directory runs, the store exists but no index has been
    written yet: a search must answer (with nothing, or what is whole) rather than raise."""
    archive_dir = tmp_path / "new"
    proc = start_ingest(letters, archive_dir)
    try:
        assert pause_when(proc, lambda: lock_holder(archive_dir) == f"pid {proc.pid}")
        try:
            with Archive.open(archive_dir) as archive:
                try:
                    hits = archive.search("motie spoor", k=5)
                except FileNotFoundError as error:
                    hits = f"FileNotFoundError: {error}"
            cli_run = CliRunner().invoke(cli, ["search", "motie spoor", "-a", str(archive_dir)])
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert hits == [] and cli_run.exit_code == 0, (
            f"search during the first ingest → {hits!r}; CLI exit {cli_run.exit_code}: {cli_run.exception!r}"
        )
    finally:
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reap(family)


def test_search_while_the_vector_index_is_being_replaced_answers(seeded: Path, tmp_path: Path, letters: Path) -> None:
    """`VectorIndex.save` replaces index.faiss, then stamp.json. A search that opens the index
    between the two reads a stamp that does not match the file; it must still answer (from the old
    or the new index), not raise. The ingest is paused in that gap (a few tries: the gap is short)."""
    outcome = None
    for attempt in range(5):
        archive_dir = tmp_path / f"idx{attempt}"
        shutil.copytree(seeded, archive_dir)
        index, stamp = archive_dir / "vectors" / "index.faiss", archive_dir / "vectors" / "stamp.json"
        inodes = (index.stat().st_ino, stamp.stat().st_ino)

        def in_gap() -> bool:
            try:
                return index.stat().st_ino != inodes[0] and stamp.stat().st_ino == inodes[1]
            except OSError:
                return False

        proc = start_ingest(letters, archive_dir)
        try:
            if pause_when(proc, in_gap) and in_gap():
                try:
                    with Archive.open(archive_dir) as archive:
                        outcome = archive.search("motie spoor", k=5)
                except FileNotFoundError as error:
                    outcome = error
                os.kill(proc.pid, signal.SIGCONT)
                break
            if proc.poll() is None:  # paused outside the gap; an ingest that already ended was reaped
                os.kill(proc.pid, signal.SIGCONT)
        finally:
            assert proc.wait(timeout=600) == 0
    if outcome is None:
        pytest.skip("the ingest never paused between writing index.faiss and its stamp (the gap is milliseconds)")
    assert isinstance(outcome, list) and outcome, f"search between index.faiss and its stamp → {outcome!r}"
