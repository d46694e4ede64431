"""`archive ingest --ray`: extraction and embedding on a local Ray cluster give the archive a local
ingest gives (a damaged file's failure included), an encoder process killed mid-call is retried,
and without --ray Ray is not imported."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from tests.conftest import CORPUS, REPO, SEED_LETTERS

ray = pytest.importorskip("ray", reason="the ray extra (archive[ray]) is installed by make test")

PDFS = sorted((CORPUS / "pdf" / "aanhangsel_kamervragen").glob("*.pdf"))[:5]
"""Five Aanhangsels (3 to 4 pages each): about 40 passages, some 6 s of embedding on one core."""
BROKEN = "kapot.pdf"
"""Beside them, a PDF cut off after its header: it must fail alone, as it does locally."""


@pytest.fixture(scope="module")
def cluster() -> None:
    """A new local Ray instance of 2 CPUs (one encoder actor, one extraction slot), stopped after."""
    from indexer.ray_ingest import RUNTIME_ENV

    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env=RUNTIME_ENV, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    for pdf in PDFS:
        shutil.copy(pdf, folder / pdf.name)
    (folder / BROKEN).write_bytes(PDFS[0].read_bytes()[:400])
    return folder


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, letters: Path) -> Path:
    """The same letters ingested without Ray."""
    path = tmp_path_factory.mktemp("local")
    with Archive.open(path, create=True) as archive:
        report = archive.ingest([letters])
    assert len(report.added) == len(PDFS) and [Path(f.path).name for f in report.failed] == [BROKEN]
    return path


def contents(path: Path) -> tuple[dict[str, list[tuple[int, int, int, str, np.ndarray]]], list[tuple[str, object, object]]]:
    """File name → its passages as (char start, first page, last page, text, vector), in text order;
    and the failed files as (name, stage, error)."""
    with Archive.open(path) as archive:
        store = archive.store
        names = {row.id: Path(row.path).name for row in store.documents()}
        ids, matrix = store.passage_vectors(store.model()[0])
        assert len(ids) == store.counts()["passages"]  # every passage has its vector
        rows = store.passages([int(i) for i in ids])
        out: dict[str, list] = {name: [] for name in names.values()}
        for pid, vector in zip(ids, matrix):
            row = rows[pid]
            out[names[row.doc]].append((row.char_start, row.page_start, row.page_end, row.text, vector))
        failed = [(Path(str(f["path"])).name, f["stage"], f["error"]) for f in store.failures()]
    return {name: sorted(passages, key=lambda p: p[0]) for name, passages in out.items()}, failed


def assert_same(ray_archive: Path, local_archive: Path) -> None:
    (got, got_failed), (want, want_failed) = contents(ray_archive), contents(local_archive)
    assert sorted(got) == sorted(want) == sorted(p.name for p in PDFS)
    assert got_failed == want_failed and [f[0] for f in want_failed] == [BROKEN]
    for name, passages in want.items():
        assert [p[:4] for p in got[name]] == [p[:4] for p in passages], name
        cosines = [float(np.dot(a[4], b[4])) for a, b in zip(got[name], passages)]
        assert min(cosines) >= 0.9999, (name, min(cosines))
    with Archive.open(ray_archive) as archive:
        check = archive.check()
    assert check.ok, check.problems


def test_ray_ingest_gives_the_passages_and_vectors_of_a_local_ingest(cluster: None, letters: Path, local: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", "--ray", str(letters), "-a", str(tmp_path), "--json", "-q"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the damaged file
    report = json.loads(result.stdout)["report"]
    assert len(report["added"]) == len(PDFS) and [Path(f["path"]).name for f in report["failed"]] == [BROKEN]
    assert report["precision"].startswith("fp32 (cpu")  # the actor's encoder, on this GPU-less cluster
    assert_same(tmp_path, local)


def _encoder_processes() -> list[int]:
    """Ray worker processes running an encoder actor's call (Ray titles them ray::Class.method)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and title.startswith(b"ray::_EncoderActor.embed"):
            found.append(int(entry.name))
    return found


def test_an_encoder_killed_mid_call_is_retried_and_the_archive_is_complete(
    cluster: None, letters: Path, local: Path, tmp_path: Path
) -> None:
    killed: list[int] = []
    stop = threading.Event()

    def kill_first_encoder() -> None:
        while not stop.is_set() and not killed:
            for pid in _encoder_processes():
                time.sleep(0.5)  # into the batch (the actor loaded its model when it started)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_encoder)
    killer.start()
    try:
        with Archive.open(tmp_path, create=True) as archive:
            report = archive.ingest([letters], ray=True)
    finally:
        stop.set()
        killer.join()
    assert killed, "no encoder call was seen to kill"
    assert len(report.added) == len(PDFS) and [Path(f.path).name for f in report.failed] == [BROKEN]
    assert_same(tmp_path, local)


def test_without_ray_nothing_of_ray_is_imported(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    shutil.copy(SEED_LETTERS[0], folder)
    script = (
        "import sys\nfrom archive.cli import cli\n"
        f"cli(['ingest', {str(folder)!r}, '-a', {str(tmp_path / 'archive')!r}, '-q'], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stderr  # it did ingest, embedding included
    assert done.stdout.strip().splitlines()[-1] == "[]"
