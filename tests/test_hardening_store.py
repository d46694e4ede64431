"""Issue 14, store side: a broken, foreign, read-only or full archive says so, and is never replaced.

Each test damages a copy of the seeded archive (tests.test_crash: five real letters ingested with
the real model) the way a user or an attacker would, runs the CLI against it, and asserts the exit
code, that the message names the path, and, where the archive survives, that its letters are
still found afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from indexer.store import Store
from tests.test_crash import ORIGINALS, seeded_archive

LETTER = "brief-financien-2022-04-13"
"""A seeded letter, and a query that finds it."""
QUERY = "onveilige werksfeer op het ministerie"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a failure of its own
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def finds_letter(archive_dir: Path) -> bool:
    result = CliRunner().invoke(cli, ["search", QUERY, "-a", str(archive_dir), "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    return any(LETTER in json.dumps(hit) for hit in json.loads(result.stdout)["hits"])


@pytest.fixture
def archive_dir(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path / "idx"
    shutil.copytree(seeded_archive(tmp_path_factory), target)
    return target


def listing(directory: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file but the lock and SQLite's own -wal/-shm, which any reader of a
    WAL database opens (an empty -wal and the shared-memory index hold no data)."""
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != "write.lock" and not p.name.endswith(("-wal", "-shm"))
    }


def make_foreign_sqlite(path: Path, kind: str) -> None:
    """Overwrite the store at `path` with something that is not an archive of this format."""
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    if kind == "empty file":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(1).bytes(64 * 1024))
    elif kind == "sqlite without meta":
        path.unlink()
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (x)")
        db.close()
    elif kind == "non-numeric format_version":
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = 'een' WHERE key = 'format_version'")
        db.close()
    elif kind == "new empty store beside old indexes":
        path.unlink()
        Store.open(path.parent, create=True).close()


@pytest.mark.parametrize(
    "kind", ["empty file", "random bytes", "sqlite without meta", "non-numeric format_version",
             "new empty store beside old indexes"],
)
def test_item2_a_store_that_is_not_this_archive_is_refused_never_replaced(archive_dir: Path, kind: str) -> None:
    store = archive_dir / "archive.sqlite"
    make_foreign_sqlite(store, kind)
    before = listing(archive_dir)
    for command in (["check"], ["search", QUERY], ["show", LETTER], ["related", LETTER], ["rebuild"],
                    ["ingest", str(ORIGINALS[0].parent)]):
        code, output = run(*command, "-a", str(archive_dir))
        assert code == 1, (command, output)
        assert str(store) in output or str(archive_dir) in output, (command, output)
        assert "restore" in output.lower() or "open an archive directory" in output, (command, output)
    assert listing(archive_dir) == before  # nothing was initialised, rebuilt or overwritten


def test_item2_read_commands_never_create_and_a_file_is_not_an_archive(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    code, output = run("search", QUERY, "-a", str(missing))
    assert code == 1 and str(missing) in output and not missing.exists()
    regular = tmp_path / "notes.txt"
    regular.write_text("geen archief\n")
    for command in (["check"], ["search", QUERY], ["ingest", str(tmp_path)]):
        code, output = run(*command, "-a", str(regular))
        assert code == 1 and f"{regular} is a file" in output, output
    assert regular.read_text() == "geen archief\n"


def overwrite_vectors_with_random_floats(archive_dir: Path) -> Path:
    """Random floats over every stored vector in index.faiss, its size and header kept."""
    faiss_file = archive_dir / "vectors" / "index.faiss"
    with Archive.open(archive_dir, repair=False) as archive:
        _, matrix = archive.store.passage_vectors(archive.store.model()[0])
    data = bytearray(faiss_file.read_bytes())
    start = min(data.find(row.tobytes()) for row in matrix)
    assert start > 0, "the stored vectors were not found in the FAISS file"
    noise = np.random.default_rng(14).random(matrix.size, dtype=np.float32).tobytes()
    data[start : start + len(noise)] = noise
    size = faiss_file.stat().st_size
    faiss_file.write_bytes(bytes(data))
    assert faiss_file.stat().st_size == size
    return faiss_file


def test_item3_random_floats_over_the_faiss_vectors_are_found_and_repaired(archive_dir: Path) -> None:
    faiss_file = overwrite_vectors_with_random_floats(archive_dir)
    before = listing(archive_dir)
    code, output = run("check", "-a", str(archive_dir))
    assert code == 1 and f"vector index {faiss_file} is damaged" in output, output
    assert listing(archive_dir) == before  # check is read-only
    code, output = run("rebuild", "-a", str(archive_dir))
    assert code == 0 and "ok" in output, output
    assert run("check", "-a", str(archive_dir))[0] == 0
    assert finds_letter(archive_dir)


def test_item3_an_open_does_not_search_damaged_vectors(archive_dir: Path) -> None:
    overwrite_vectors_with_random_floats(archive_dir)
    assert finds_letter(archive_dir)  # the open found the damage and rebuilt from the store
    code, output = run("check", "-a", str(archive_dir))
    assert code == 0, output


def test_item3_lexical_index_missing_passages_is_found(archive_dir: Path) -> None:
    with Archive.open(archive_dir) as archive:
        [row] = [d for d in archive.store.documents() if LETTER in d.path]
        stamp = archive.indexes.lexical().stamp
        archive.indexes.lexical().update([], [row.id], stamp)  # its passages gone, stamp kept current
    code, output = run("check", "-a", str(archive_dir))
    assert code == 1 and f"lexical index {archive_dir / 'lexical'} holds" in output, output
    assert run("rebuild", "-a", str(archive_dir))[0] == 0
    assert run("check", "-a", str(archive_dir))[0] == 0 and finds_letter(archive_dir)


@pytest.fixture
def mount_point(tmp_path: Path):
    """A tmpfs mounted at tmp_path/mnt (root only); unmounted afterwards."""
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)]).returncode:
        pytest.skip("needs root to mount a tmpfs (the read-only and disk-full cases are made with one)")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_item5_a_read_only_archive_opens_for_every_read_command(archive_dir: Path, mount_point: Path) -> None:
    target = mount_point / "idx"
    shutil.copytree(archive_dir, target)
    with sqlite3.connect(target / "archive.sqlite") as db:  # one commit the indexes have not seen: stale
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    db.close()
    shutil.rmtree(target / "lexical")  # and no lexical index at all: searched from the store
    assert subprocess.run(["mount", "-o", "remount,ro", str(mount_point)]).returncode == 0
    assert finds_letter(target)
    for command in (["show", LETTER], ["related", LETTER]):
        code, output = run(*command, "-a", str(target))
        assert code == 0, (command, output)
    code, output = run("check", "-a", str(target))
    assert code == 1 and f"vector index {target / 'vectors' / 'index.faiss'} is at generation" in output, output
    code, output = run("rebuild", "-a", str(target))
    assert code == 1 and f"{target} is read-only" in output, output
    with Archive.open(target) as archive:
        assert any("read-only" in w for w in archive.warnings), archive.warnings
        assert archive.search(QUERY, k=5, mode="lexical")


@pytest.mark.parametrize("reader", [False, True], ids=["no -shm: read-only open", "-shm held: rebuild fails"])
def test_item6_an_open_on_a_full_disk_searches_the_old_indexes_and_leaves_no_temp_files(
    archive_dir: Path, mount_point: Path, reader: bool
) -> None:
    target = mount_point / "idx"
    shutil.copytree(archive_dir, target)
    db = sqlite3.connect(target / "archive.sqlite", isolation_level=None)
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")  # stale indexes
    if not reader:
        db.close()  # the last connection removes -wal and -shm: an open must make them anew
    filler = mount_point / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        except OSError:
            pass
    with Archive.open(target) as archive:
        expected = "could not rebuild the indexes" if reader else "could not be opened for writing"
        assert any(expected in w and str(target) in w for w in archive.warnings), archive.warnings
    assert finds_letter(target)
    leftovers = [p for p in target.rglob("*") if p.name.endswith(".tmp") or ".build-" in p.name]
    assert not leftovers
    filler.unlink()
    db.close()
    assert run("rebuild", "-a", str(target))[0] == 0 and run("check", "-a", str(target))[0] == 0


def test_item6_and_9_leftovers_of_killed_writers_are_removed_by_the_next_rebuild(archive_dir: Path) -> None:
    junk = [archive_dir / ".lexical.build-999999", archive_dir / ".lexical.old-999999"]
    for folder in junk:
        folder.mkdir()
        (folder / "meta.json").write_text("{}")
    junk += [archive_dir / "vectors" / ".index.faiss.999999.tmp", archive_dir / "lexical" / ".stamp.json.999999.tmp"]
    for file in junk[2:]:
        file.write_bytes(b"half")
    code, output = run("rebuild", "-a", str(archive_dir))
    assert code == 0, output
    assert not [p for p in junk if p.exists()]
    assert finds_letter(archive_dir)


@pytest.mark.parametrize("damage", ["truncated", "bad header", "random bytes"])
def test_item7_a_damaged_store_gets_a_diagnosis_not_a_traceback(archive_dir: Path, damage: str) -> None:
    store = archive_dir / "archive.sqlite"
    data = bytearray(store.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "bad header":
        data[:100] = np.random.default_rng(7).bytes(100)
    else:
        data = bytearray(np.random.default_rng(7).bytes(len(data)))
    store.write_bytes(bytes(data))
    for command in (["check"], ["search", QUERY], ["rebuild"], ["show", LETTER]):
        code, output = run(*command, "-a", str(archive_dir))
        assert code == 1, (command, output)
        assert f"{store} is not a readable archive" in output and "backup" in output, (command, output)
    assert store.read_bytes() == bytes(data)


def test_item9_check_writes_nothing_and_names_what_is_wrong(archive_dir: Path) -> None:
    (archive_dir / "lexical" / "meta.json").write_text("not json")
    stamp_file = archive_dir / "vectors" / "stamp.json"
    stamp = json.loads(stamp_file.read_text())
    stamp["model"] = "another-model"
    stamp_file.write_text(json.dumps(stamp))
    before = listing(archive_dir)
    code, output = run("check", "-a", str(archive_dir))
    assert code == 1, output
    assert f"lexical index {archive_dir / 'lexical'} is unreadable" in output
    assert "was written for model another-model" in output and "is at generation" not in output, output
    assert listing(archive_dir) == before
    assert run("rebuild", "-a", str(archive_dir))[0] == 0 and finds_letter(archive_dir)


def test_item4_a_file_name_that_is_not_utf8_is_stored_losslessly(archive_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"brief-caf\xe9-2022.txt")
    shutil.copyfile(ORIGINALS[0], raw)  # a seeded letter's text: its vectors are known, nothing is embedded
    code, output = run("ingest", str(folder), "-a", str(archive_dir), "-q")
    assert code == 0, output
    name = os.fsdecode(raw)
    with Archive.open(archive_dir) as archive:
        [row] = [d for d in archive.store.documents() if d.path == name]
        assert Path(row.path).exists() and row.key == "brief-caf\\xe9-2022"
        assert archive.show(row.key).pages
    code, output = run("ingest", str(folder), "-a", str(archive_dir), "-q")  # unchanged: skipped, not re-added
    assert code == 0 and "1 unchanged" in output, output
    assert run("check", "-a", str(archive_dir))[0] == 0
    with Archive.open(archive_dir) as archive:  # (printing such a name is the CLI's part: escaped)
        paths = {hit.citation.path for hit in archive.search(QUERY, k=10)}
    assert name in paths and any(LETTER in path for path in paths)
