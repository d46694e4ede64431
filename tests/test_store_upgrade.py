"""Format 1 → 2: the first writable open of a format-1 archive fills the lookup keys from what is
stored, re-embeds nothing and leaves the derived indexes valid; a read-only one is refused, saying
how to upgrade it.

The format-1 archive is made the way format 1 differed from format 2: an archive of the fixture
letters with its `keys` table and `documents(aanhangsel)` index dropped, the `documents(kenmerk)`
index format 1 had put back, and format_version 1 (exactly the format-1 schema of commit 8dff709).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from archive.errors import StoreError
from indexer.store import FORMAT_VERSION, STORE_FILE

FIXTURES = Path(__file__).parent / "fixtures" / "letters"
QUERIES = ("ienw/bsk-2024/ 71392", "2024Z04567", "Kamerstuk 36571 nr. 3", "Aanhangsel Handelingen II 2023/24, nr. 1314", "stoombrug")


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A format-2 archive of the fixture letters, as ingest writes it."""
    path = tmp_path_factory.mktemp("current")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([FIXTURES]).ok
    return path


def downgrade(source: Path, target: Path) -> None:
    shutil.copytree(source, target)
    with sqlite3.connect(target / STORE_FILE) as db:
        db.executescript(
            "DROP TABLE keys; DROP INDEX documents_aanhangsel;"
            "CREATE INDEX documents_kenmerk ON documents(kenmerk);"
            "UPDATE meta SET value = '1' WHERE key = 'format_version';"
        )
    db.close()


def table(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path / STORE_FILE) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return rows


def files(path: Path) -> dict[str, str]:
    """Digest of every file of the derived indexes."""
    return {
        str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(path.rglob("*")) if f.is_file() and not f.name.startswith(STORE_FILE)
    }


def answers(archive: Archive) -> dict[str, object]:
    out: dict[str, object] = {}
    for doc in archive.store.documents():
        out[f"related {doc.key}"] = [(r.kind, r.target, r.reason, r.score) for r in archive.related(doc.key)]
        if doc.kenmerk:
            out[f"resolve {doc.kenmerk}"] = archive.resolve(doc.kenmerk.lower()).key
    for query in QUERIES:
        for mode in ("hybrid", "dense", "lexical"):
            out[f"{mode} {query}"] = [(h.document, h.passage_id, h.score, h.matched) for h in archive.search(query, mode=mode)]
    return out


def test_a_format_1_archive_is_upgraded_on_a_writable_open_without_re_embedding(current: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    downgrade(current, old)
    vectors = table(old, "SELECT text_hash, model, vector FROM vectors ORDER BY text_hash")
    generation = table(old, "SELECT value FROM meta WHERE key = 'generation'")
    derived = files(old)

    with Archive.open(old) as upgraded, Archive.open(current) as ingested:
        assert answers(upgraded) == answers(ingested)
        assert not upgraded.warnings  # the derived indexes are still current

    assert table(old, "SELECT value FROM meta WHERE key = 'format_version'") == [(str(FORMAT_VERSION),)]
    keys = "SELECT doc, kind, key FROM keys WHERE kind != 'furniture' ORDER BY doc, kind, key"
    assert table(old, keys) == table(current, keys) != []
    assert {kind for _, kind, _ in table(old, keys)} == {"kenmerk", "uw_kenmerk", "cited_kenmerk", "questions", "sidebar"}
    assert table(old, "SELECT text_hash, model, vector FROM vectors ORDER BY text_hash") == vectors
    assert table(old, "SELECT value FROM meta WHERE key = 'generation'") == generation
    assert files(old) == derived
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert table(old, schema) == table(current, schema)


def test_a_format_2_archive_gains_sidebar_keys_and_keeps_furniture_keys(current: Path, tmp_path: Path) -> None:
    """2 → 3: sidebar identifiers are recomputed from the stored sidebar; furniture keys, which only
    ingest sees, survive an upgrade (a format-2 archive has none: its documents need re-ingest)."""
    old = tmp_path / "old"
    shutil.copytree(current, old)
    with sqlite3.connect(old / STORE_FILE) as db:
        db.execute("INSERT INTO keys SELECT id, 'furniture', 'WOO-TEST-' || id FROM documents")
        db.execute("DELETE FROM keys WHERE kind = 'sidebar'")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    db.close()
    sidebar = "SELECT doc, key FROM keys WHERE kind = 'sidebar' ORDER BY doc, key"
    with Archive.open(old) as upgraded:
        assert not upgraded.warnings
    assert table(old, "SELECT value FROM meta WHERE key = 'format_version'") == [(str(FORMAT_VERSION),)]
    assert table(old, sidebar) == table(current, sidebar) != []
    assert table(old, "SELECT count(*) FROM keys WHERE kind = 'furniture' AND key LIKE 'WOO-TEST-%'") == [
        (len(table(old, "SELECT id FROM documents")),)
    ]


def test_a_read_only_format_1_archive_is_refused_with_the_way_to_upgrade_it(current: Path, tmp_path: Path) -> None:
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)]).returncode:
        pytest.skip("needs root to mount a tmpfs (read-only is made with one)")
    try:
        downgrade(current, point / "old")
        assert subprocess.run(["mount", "-o", "remount,ro", str(point)]).returncode == 0
        with pytest.raises(StoreError, match="format 1.*read-only.*write access"):
            Archive.open(point / "old")
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_check_reads_a_format_1_archive_without_upgrading_it(current: Path, tmp_path: Path) -> None:
    """`check` writes nothing, not even the upgrade; it says the next writable open will make it."""
    old = tmp_path / "old"
    downgrade(current, old)
    before = (old / "archive.sqlite").read_bytes()
    result = CliRunner().invoke(cli, ["check", "-a", str(old)])
    assert result.exit_code == 0, result.output
    assert "holds format 1" in result.stderr and "upgrades it" in result.stderr
    assert (old / "archive.sqlite").read_bytes() == before
    assert table(old, "SELECT value FROM meta WHERE key = 'format_version'") == [("1",)]
