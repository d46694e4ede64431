"""`archive ingest`, `show`, `remove`, `check`, `rebuild`: incremental, reported, consistent."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, ModelMismatch, StoreError
from archive.cli import cli
from tests.conftest import SEED_LETTERS, doc_of


def invoke(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def letters(tmp_path: Path) -> Path:
    folder = tmp_path / "letters"
    folder.mkdir()
    for letter in SEED_LETTERS:
        shutil.copy(letter, folder)
    return folder


def test_ingest_reports_and_reruns_skip_unchanged_files(tmp_path: Path, letters: Path) -> None:
    archive_dir = str(tmp_path / "idx")
    first = invoke("ingest", str(letters), "-a", archive_dir, "--json", "-q")
    assert first.exit_code == 0
    report = json.loads(first.stdout)["report"]
    assert len(report["added"]) == 2 and report["failed"] == [] and report["passages"] > 5
    assert "2 added" in first.stderr
    again = json.loads(invoke("ingest", str(letters), "-a", archive_dir, "--json", "-q").stdout)["report"]
    assert again["added"] == [] and len(again["skipped"]) == 2 and again["embedded"] == 0


def test_changed_file_is_replaced_and_known_passages_are_not_reembedded(tmp_path: Path, letters: Path) -> None:
    archive_dir = tmp_path / "idx"
    with Archive.open(archive_dir, create=True) as archive:
        archive.ingest([letters])
        letter = letters / "brief-financien-2022-04-13.txt"
        letter.write_text(letter.read_text(encoding="utf-8") + "\n\nNaschrift over de fietsenstalling van het ministerie.\n", encoding="utf-8")
        report = archive.ingest([letters])
        assert report.updated == [str(letter)] and len(report.skipped) == 1
        assert 1 <= report.embedded <= 2  # the changed tail only
        assert archive.search("fietsenstalling", k=1, mode="lexical")[0].document == doc_of(archive, "financien")
        assert archive.check().ok


def test_prune_and_remove_take_documents_out(tmp_path: Path, letters: Path) -> None:
    archive_dir = str(tmp_path / "idx")
    invoke("ingest", str(letters), "-a", archive_dir, "-q")
    (letters / "kamerbrief-vws-2024-02-27.txt").unlink()
    pruned = json.loads(invoke("ingest", str(letters), "--prune", "-a", archive_dir, "--json", "-q").stdout)
    assert [Path(p).name for p in pruned["report"]["removed"]] == ["kamerbrief-vws-2024-02-27.txt"]
    removed = invoke("remove", "2022-0000088502", "-a", archive_dir, "--json")
    assert [Path(p).name for p in json.loads(removed.stdout)["removed"]] == ["brief-financien-2022-04-13.txt"]
    check = json.loads(invoke("check", "-a", archive_dir, "--json").stdout)["check"]
    assert check["ok"] and check["counts"]["documents"] == 0 and check["counts"]["vectors"] == 0


def test_show_prints_metadata_and_pages(demo_path: Path, demo: Archive) -> None:
    key = doc_of(demo, "vws")
    out = invoke("show", key, "-a", str(demo_path)).stdout
    assert "--- page 1 ---" in out and "2024-02-27" in out
    view = json.loads(invoke("show", key, "-a", str(demo_path), "--json").stdout)["document"]
    assert view["document"]["dossier"] == "36410-XVI" and view["document"]["ondernummer"] == "137"
    assert view["pages"][0]["text"]
    by_number = json.loads(invoke("show", "36410-XVI-137", "-a", str(demo_path), "--json").stdout)["document"]
    assert by_number["document"]["key"] == key  # the Kamerstuk number a clerk has at hand
    missing = CliRunner().invoke(cli, ["show", "no-such-letter", "-a", str(demo_path)])
    assert missing.exit_code == 1 and "no document with id, path, kenmerk or Kamerstuk number" in missing.stderr


def test_check_finds_and_rebuild_repairs_a_lost_vector_index(tmp_path: Path, letters: Path) -> None:
    archive_dir = tmp_path / "idx"
    with Archive.open(archive_dir, create=True) as archive:
        archive.ingest([letters])
        expected = [h.passage_id for h in archive.search("werksfeer", k=5)]
    shutil.rmtree(archive_dir / "vectors")
    shutil.rmtree(archive_dir / "lexical")
    broken = CliRunner().invoke(cli, ["check", "-a", str(archive_dir)], catch_exceptions=False)
    assert broken.exit_code == 1
    problems = [line for line in broken.stdout.splitlines() if line.startswith("problem:")]
    assert any("vector index" in p and "missing" in p for p in problems)
    assert any("lexical index" in p and "missing" in p for p in problems)
    rebuilt = json.loads(invoke("rebuild", "-a", str(archive_dir), "--json").stdout)
    assert rebuilt["check"]["ok"]
    with Archive.open(archive_dir) as archive:
        assert [h.passage_id for h in archive.search("werksfeer", k=5)] == expected


def test_another_model_or_format_is_refused(tmp_path: Path, letters: Path) -> None:
    archive_dir = tmp_path / "idx"
    with Archive.open(archive_dir, create=True) as archive:
        archive.ingest([letters])
    with pytest.raises(ModelMismatch, match="was built with model"):
        Archive.open(archive_dir, model="sentence-transformers/all-MiniLM-L6-v2")
    result = CliRunner().invoke(cli, ["search", "werksfeer", "-a", str(archive_dir), "--model", "other-model"])
    assert result.exit_code == 1 and "was built with model" in result.stderr
    with sqlite3.connect(archive_dir / "archive.sqlite") as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format_version'")
    with pytest.raises(StoreError, match="format 0"):
        Archive.open(archive_dir)


def test_search_on_a_missing_archive_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "werksfeer", "-a", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no archive at" in result.stderr


def test_two_files_with_one_name_get_their_own_keys(tmp_path: Path) -> None:
    """The first file keeps its stem as its key; a file of the same name elsewhere gets the stem and a
    hash of its path, and re-ingesting either keeps the key it has."""
    first, second = tmp_path / "a" / "brief.txt", tmp_path / "b" / "brief.txt"
    for path, seed in zip((first, second), SEED_LETTERS):
        path.parent.mkdir()
        shutil.copy(seed, path)
    archive_dir = tmp_path / "idx"
    assert invoke("ingest", str(first.parent), "-a", str(archive_dir), "-q").exit_code == 0
    assert invoke("ingest", str(second.parent), "-a", str(archive_dir), "-q").exit_code == 0
    with Archive.open(archive_dir) as archive:
        keys = {row.path: row.key for row in archive.store.documents()}
        assert keys[str(first)] == "brief"
        assert keys[str(second)].startswith("brief-") and len(keys[str(second)]) == len("brief-") + 6
        assert archive.store.unique_key("brief", str(first)) == "brief"
        assert archive.store.unique_key("brief", str(second)) == keys[str(second)]
