"""The JSON envelope of every command, pinned: success is `{"ok": true, …}` with the command's own
keys; failure is `{"ok": false, "error": "…", "kind": "…"}` on stdout with a non-zero exit, so a
script that pipes `--json` into jq always gets JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.wire import to_json
from tests.conftest import DEMO

SUCCESS = {
    "ingest": (["ingest", "{letters}"], {"report", "archive"}),
    "search": (["search", "veiligheid van ambtenaren", "-k", "2"], {"query", "hits", "notes"}),
    "show": (["show", "2022-0000088502"], {"document"}),
    "related": (["related", "2022-0000088502"], {"document", "thread", "relations"}),
    "check": (["check"], {"check"}),
    "rebuild": (["rebuild"], {"check"}),
    "eval": (["eval", "{queries}"], {"eval"}),
    "remove": (["remove", "2022-0000088502"], {"removed"}),
    "migrate": (["migrate", "--to", "{database}"], {"migration"}),
}
FAILURE = {
    "ingest": ["ingest", "{letters}", "--model", "another/model"],
    "search": ["search", "   "],
    "show": ["show", "geen-document"],
    "related": ["related", "geen-document"],
    "check": ["check", "-a", "{missing}"],
    "rebuild": ["rebuild", "-a", "{missing}"],
    "eval": ["eval", "{bad_queries}"],
    "remove": ["remove", "geen-document"],
    "migrate": ["migrate", "--to", "postgresql://nobody@/archive?host={missing}"],
}


@pytest.fixture
def places(demo_path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    archive = tmp_path / "archive"
    shutil.copytree(demo_path, archive)
    letters = tmp_path / "letters"
    letters.mkdir()
    shutil.copy(sorted(DEMO.glob("*.txt"))[0], letters)
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"query": "veiligheid van ambtenaren", "relevant": ["kamerbrief-vws-2024-02-27.txt"]}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{kapot\n")
    return {
        "archive": str(archive), "letters": str(letters), "queries": str(queries), "bad_queries": str(bad),
        "missing": str(tmp_path / "nergens"),
        "database": _database(request) if request.node.name == "test_success_envelope[migrate]" else "",
    }


def _database(request: pytest.FixtureRequest) -> str:
    """An empty database on the session's PostgreSQL server, started only for the migrate command."""
    return request.getfixturevalue("postgres").create("contract")


def run(args: list[str], places: dict[str, str]):  # noqa: ANN201 - click's Result
    args = [a.format(**places) for a in args]
    if "-a" not in args:
        args += ["-a", places["archive"]]
    return CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)


def test_every_command_is_pinned() -> None:
    commands = set(cli.commands) - {"serve"}
    assert commands == set(SUCCESS) == set(FAILURE)


@pytest.mark.parametrize("command", sorted(SUCCESS))
def test_success_envelope(command: str, places: dict[str, str]) -> None:
    args, keys = SUCCESS[command]
    result = run(args, places)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert set(payload) == {"ok", *keys}


@pytest.mark.parametrize("command", sorted(FAILURE))
def test_error_envelope(command: str, places: dict[str, str]) -> None:
    result = run(FAILURE[command], places)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert set(payload) == {"ok", "error", "kind"}
    assert payload["ok"] is False and payload["error"] and payload["kind"]
    assert "Traceback" not in result.output


def test_any_string_prints_as_json() -> None:
    """Undecodable file-name bytes and any other lone surrogate become escapes, never an encoding error."""
    printed = json.loads(to_json({"path": "caf\udce9.txt", "text": "x\ud800y", "title": "coördinatie"}))
    assert printed == {"path": "caf\\xe9.txt", "text": "x\\ud800y", "title": "coördinatie"}
