"""Discovery: supported files found, unreadable places reported, loops never followed."""

import os
from pathlib import Path

import pytest

from indexer.discover import discover


def test_finds_supported_files_and_reports_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / "b.TXT").write_text("brief")
    (tmp_path / "c.docx").write_text("niet ondersteund")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.md").write_text("# notitie")
    (sub / "loop").symlink_to(sub)  # a folder link back to itself is not followed
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")  # a file link loop
    found = discover([tmp_path, tmp_path / "missing"])
    assert [p.name for p in found.files] == ["a.pdf", "b.TXT", "d.md"]
    reasons = {p.name: why for p, why in found.problems}
    assert reasons["missing"] == "no such file or folder"
    assert "loop" in reasons["self.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_folder_without_permission_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.txt").write_text("geheim")
    locked.chmod(0)
    try:
        found = discover([tmp_path])
    finally:
        locked.chmod(0o755)
    assert found.files == []
    assert found.problems and "permission" in found.problems[0][1]
