"""Issue 14, the ingest side: the library works from an unguarded script, hostile sizes are bounded,
a bad file name or a full disk costs what it must and no more, and failures follow the files.

Each test ingests into a copy of the session's seeded archive (tests.test_crash.seeded_archive),
mostly letters whose passages it already holds, so that nothing is embedded and no model loads
except where a test says so. Nothing is mocked: limits are lowered through the library's own
arguments or module constants, the bomb is a real FlateDecode PDF, the full disk a real tmpfs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from indexer.extract_pdf import MAX_PAGE_CONTENT_BYTES
from tests.conftest import DEMO, REPO
from tests.test_crash import ORIGINALS, seeded_archive

LETTER = DEMO / "brief-financien-2022-04-13.txt"
MOTIE = ORIGINALS[1]
"""Letters the seeded archive holds: copies of them under new names embed nothing."""
PDF = ORIGINALS[4]
TIMEOUT = 30.0


def invoke(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def base(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path / "idx"
    shutil.copytree(seeded_archive(tmp_path_factory), path)
    return path


def still_found(archive_path: Path) -> None:
    """The seeded Financiën letter is still stored and found by a phrase of its own."""
    with Archive.open(archive_path) as archive:
        assert archive.check().ok, archive.check().problems
        [hit] = archive.search("vertrouwensrelatie luid en duidelijk in het publieke domein", k=1, mode="lexical")
        assert "onderlinge vertrouwensrelatie" in hit.text
        [seeded] = [d for d in archive.store.documents() if Path(d.path).name == LETTER.name]
        assert hit.document in {d.key for d in archive.store.documents() if d.sha256 == seeded.sha256}


def bomb_pdf(path: Path, unpacked: int) -> None:
    """A one-page PDF whose content stream is `unpacked` zero bytes, deflated (about 1000:1)."""
    packer = zlib.compressobj(9)
    chunk = bytes(16 << 20)
    stream = b"".join(packer.compress(chunk) for _ in range(unpacked // len(chunk))) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


# --- item 0: no main guard needed -------------------------------------------------------------------


def test_readme_example_runs_as_a_script_without_main_guard(tmp_path: Path) -> None:
    """The README's Python example, pasted into a file and run as is, prints cited answers."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)
    assert "__main__" not in example
    shutil.copytree(DEMO, tmp_path / "corpus")
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "ArchiveLocked" not in run.stderr, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 5, run.stdout
    assert all(" — p. " in line for line in lines), run.stdout  # each hit is cited down to the page


def test_ingest_from_python_c_and_from_a_thread(base: Path, tmp_path: Path) -> None:
    """`python -c` has no main file at all; a server calls ingest from a thread."""
    folder = tmp_path / "post"
    folder.mkdir()
    shutil.copyfile(MOTIE, folder / "kopie-motie.txt")
    code = f"from archive import Archive; r = Archive.open({str(base)!r}).ingest([{str(folder)!r}]); print(r.added)"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "kopie-motie.txt" in run.stdout

    import threading

    shutil.copyfile(LETTER, folder / "kopie-brief.txt")
    reports = []
    with Archive.open(base) as archive:
        thread = threading.Thread(target=lambda: reports.append(archive.ingest([folder], timeout=TIMEOUT)))
        thread.start()
        thread.join(300)
    assert [Path(p).name for p in reports[0].added] == ["kopie-brief.txt"], reports


# --- item 8: limits ---------------------------------------------------------------------------------


def test_a_decompression_bomb_fails_in_seconds_and_the_rest_is_ingested(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "post"
    folder.mkdir()
    bomb_pdf(folder / "bom.pdf", 4 * MAX_PAGE_CONTENT_BYTES)
    assert (folder / "bom.pdf").stat().st_size < 1 << 20
    shutil.copyfile(MOTIE, folder / "motie.txt")
    started = time.monotonic()
    run = invoke("ingest", str(folder), "-a", str(base), "-q", "--timeout", "120")
    seconds = time.monotonic() - started
    assert run.exit_code == 1
    assert f"failed: {folder / 'bom.pdf'}: page 1's content unpacks to more than" in run.stderr, run.stderr
    assert "decompression bomb" in run.stderr
    assert "1 added" in run.stderr, run.stderr
    assert seconds < 60, f"the bomb took {seconds:.0f} s"  # the time limit (120 s) did not stop it
    still_found(base)


def test_a_file_past_the_memory_limit_fails_alone(base: Path, tmp_path: Path) -> None:
    """A worker limited to 256 MiB cannot read a 150 MB text file (its bytes and their decoded text
    alone are more); the small letter beside it is stored."""
    folder = tmp_path / "post"
    folder.mkdir()
    shutil.copyfile(MOTIE, folder / "a-motie.txt")
    paragraph = LETTER.read_text(encoding="utf-8")
    (folder / "b-groot.txt").write_text(paragraph * (150_000_000 // len(paragraph)), encoding="utf-8")
    limit = 256
    with Archive.open(base) as archive:
        report = archive.ingest([folder], timeout=120, memory_mib=limit)
    assert [Path(p).name for p in report.added] == ["a-motie.txt"]
    [failure] = report.failed
    assert Path(failure.path).name == "b-groot.txt"
    assert f"memory limit ({limit} MiB)" in failure.error or f"ran out of memory (limit {limit} MiB)" in failure.error
    still_found(base)


def test_a_document_past_the_passage_limit_is_stored_with_a_warning(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.ingest

    monkeypatch.setattr(indexer.ingest, "MAX_PASSAGES", 3)  # the letter has more: the default, lowered
    folder = tmp_path / "post"
    folder.mkdir()
    shutil.copyfile(LETTER, folder / "lang.txt")
    run = invoke("ingest", str(folder), "-a", str(base), "-q", "--json")
    assert run.exit_code == 0, run.stderr
    [warning] = json.loads(run.stdout)["report"]["warnings"]
    assert warning["path"] == str(folder / "lang.txt")
    assert re.search(rf"warning: {re.escape(str(folder / 'lang.txt'))}: \d+ passages, more than the limit of 3", run.stderr)
    with Archive.open(base) as archive:
        assert archive.resolve(str(folder / "lang.txt"))


# --- item 4: a file name that is not UTF-8 ----------------------------------------------------------


def test_a_file_name_that_is_not_utf8_fails_or_is_stored_alone(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "post"
    folder.mkdir()
    bad = os.fsdecode(os.path.join(os.fsencode(folder), b"brief-\xff.txt"))
    shutil.copyfile(LETTER, bad)
    shutil.copyfile(MOTIE, folder / "zz-motie.txt")  # sorted after the bad name
    with Archive.open(base) as archive:
        report = archive.ingest([folder], timeout=TIMEOUT)
        stored = {d.path for d in archive.store.documents()}
    assert str(folder / "zz-motie.txt") in report.added and str(folder / "zz-motie.txt") in stored
    failed = {f.path: f for f in report.failed}
    assert bad in report.added or failed[bad].stage == "store", report
    still_found(base)


# --- item 6: disk full ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A real 12 MiB tmpfs (needs root, as the project's machines give; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_ends_ingest_with_a_clear_error_and_keeps_what_was_stored(
    small_disk: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    archive_path = small_disk / "idx"
    shutil.copytree(seeded_archive(tmp_path_factory), archive_path)
    usage = shutil.disk_usage(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(bytes(max(usage.free - (1 << 20), 0)))  # leave 1 MiB: room for a few documents
    folder = tmp_path / "post"
    folder.mkdir()
    for n in range(60):  # copies of a stored letter: stored text, no embedding
        shutil.copyfile(LETTER, folder / f"kopie-{n:02}.txt")
    run = invoke("ingest", str(folder), "-a", str(archive_path), "-q", "--timeout", str(TIMEOUT))
    assert run.exit_code == 1
    assert f"{archive_path}: the disk is full" in run.stderr, run.stderr
    assert "run ingest again" in run.stderr
    leftovers = [p.name for p in archive_path.rglob(".*") if re.search(r"\.tmp$|\.build-\d+$", p.name)]
    assert leftovers == []
    filler.unlink()
    with Archive.open(archive_path) as archive:
        stored = [d.path for d in archive.store.documents() if d.path.startswith(str(folder))]
    assert 0 < len(stored) < 60, "the disk did not fill up part-way through the run"
    still_found(archive_path)


# --- item 9: failures under absolute paths, forgotten by --prune when the file is gone ----------------


def test_failures_are_recorded_absolute_and_pruned_when_gone(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "post"
    folder.mkdir()
    (folder / "lus.pdf").symlink_to("lus.pdf")
    (folder / "leeg.txt").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    run = invoke("ingest", "post", "-a", str(base), "-q")
    assert run.exit_code == 1
    with Archive.open(base) as archive:
        recorded = {f["path"] for f in archive.check().failures}
    assert recorded == {str(folder / "lus.pdf"), str(folder / "leeg.txt")}
    (folder / "lus.pdf").unlink()
    (folder / "leeg.txt").unlink()
    shutil.copyfile(MOTIE, folder / "motie.txt")
    run = invoke("ingest", "post", "--prune", "-a", str(base), "-q")
    assert run.exit_code == 0, run.stderr
    with Archive.open(base) as archive:
        assert archive.check().failures == []
    still_found(base)
