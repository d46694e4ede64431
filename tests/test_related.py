"""`archive related`: every link kind found in both directions with its reason, the reply thread in
date order, the --json shape, and links that appear when the answer is ingested after the question.

The fixtures in tests/fixtures/letters are fictional letters in Rijkshuisstijl and Kamerstuk form:
a gemeente ↔ ministerie chain linked by Ons/Uw kenmerk, a vakbond letter answered with "In jullie
brief van 22 februari 2022" (no kenmerk), Kamervragen with the minister's answer letter and the
Aanhangsel, follow-up questions that cite the Aanhangsel, three Kamerstukken of one dossier that
cite each other, and two letters about school ventilation that only share their subject.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, Relation
from archive.cli import cli
from archive.related import (
    KINDS,
    _name_words,
    display_aanhangsel,
    role,
    similar,
    without_names,
)
from indexer.keys import questions_key
from indexer.store import DocumentRow
from tests.conftest import CORPUS, SEED_LETTERS

FIXTURES = Path(__file__).parent / "fixtures" / "letters"
DOSSIERS = ("36045", "30175", "34682")
"""Moties of three dossiers on different subjects (Oekraïne, Luchtkwaliteit, Nationale Omgevingsvisie)."""
PBM = CORPUS / "pdf" / "woo_vws_testdossiers" / "ko3"
"""Two Woo documents on protective equipment for workers (notes of a meeting, an e-mail on the WIP guideline)."""
LATER = ("ienw-antwoord-kamervragen-stoombrug.txt", "ah-tk-20232024-1314.txt")
"""Ingested in a second run, after the questions they answer."""


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Relation]]:
    """The fixture archive, built in two runs, in a directory or in PostgreSQL (issue 19: related
    correspondence behaves the same on both backends); and what the questions' relations were after
    the first run."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for source in sorted(FIXTURES.glob("*.txt")):
        shutil.copy(source, (second if source.name in LATER else first) / source.name)
    if request.param == "postgres":
        path = request.getfixturevalue("postgres").create("related")
    else:
        path = str(tmp_path_factory.mktemp("archive"))
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([first]).ok
        before = archive.related("kamervragen-stoombrug", k_similar=0)
        report = archive.ingest([second])
        assert report.ok and len(report.added) == len(LATER), report
    return path, before


@pytest.fixture(scope="module")
def archive(linked: tuple[str, list[Relation]]) -> Archive:
    with Archive.open(linked[0]) as opened:
        yield opened


def links(archive: Archive, doc: str, kind: str) -> dict[str, str]:
    """target → reason of `doc`'s relations of one kind."""
    return {r.target: r.reason for r in archive.related(doc, k_similar=0) if r.kind == kind}


def test_uw_kenmerk_links_the_reply_both_ways(archive: Archive) -> None:
    assert links(archive, "ienw-reactie-stoombrug", "answers") == {
        "vleuterdam-verzoek-stoombrug": "this letter's Uw kenmerk VLD/2023/04417 is its kenmerk"
    }
    assert links(archive, "vleuterdam-verzoek-stoombrug", "answered_by") == {
        "ienw-reactie-stoombrug": "its Uw kenmerk VLD/2023/04417 is this letter's kenmerk"
    }
    assert set(links(archive, "ienw-reactie-stoombrug", "answered_by")) == {"vleuterdam-vervolg-stoombrug"}


def test_uw_brief_van_datum_links_by_date_and_correspondent(archive: Archive) -> None:
    [(target, reason)] = links(archive, "ienw-reactie-bwp-brugwachters", "answers").items()
    assert target == "bwp-brief-brugwachters"
    assert reason.startswith("this letter answers “uw brief van 22 februari 2022” (no kenmerk given); it is a letter of 22 februari 2022 between the same correspondents (")
    [(target, reason)] = links(archive, "bwp-brief-brugwachters", "answered_by").items()
    assert target == "ienw-reactie-bwp-brugwachters"
    assert "22 februari 2022" in reason and "no kenmerk given" in reason


def test_kamervragen_and_their_answers_link_both_ways(archive: Archive) -> None:
    answers = links(archive, "kamervragen-stoombrug", "answer")
    assert answers == {
        "ienw-antwoord-kamervragen-stoombrug": "2024Z04567 is printed in this document and its Uw kenmerk",
        "ah-tk-20232024-1314": "both concern the vragen van Van Dijkhuizen (ingezonden 12 maart 2024)",
    }
    assert links(archive, "ienw-antwoord-kamervragen-stoombrug", "question") == {
        "kamervragen-stoombrug": "2024Z04567 is this letter's Uw kenmerk and printed in it"
    }
    assert links(archive, "ah-tk-20232024-1314", "question") == {
        "kamervragen-stoombrug": "both concern the vragen van Van Dijkhuizen (ingezonden 12 maart 2024)"
    }
    # two answers to the same questions are not each other's question or answer
    kinds = {r.kind for r in archive.related("ah-tk-20232024-1314", k_similar=0) if r.target == "ienw-antwoord-kamervragen-stoombrug"}
    assert not kinds


def test_answer_ingested_after_the_question_links_both_ways(linked: tuple[str, list[Relation]], archive: Archive) -> None:
    _, before = linked
    assert not [r for r in before if r.kind == "answer"]
    assert {"ienw-antwoord-kamervragen-stoombrug", "ah-tk-20232024-1314"} <= set(links(archive, "kamervragen-stoombrug", "answer"))


def test_same_dossier_lists_the_others_by_ondernummer(archive: Archive) -> None:
    assert list(links(archive, "kst-36571-7", "same_dossier").items()) == [
        ("kst-36571-3", "also in Kamerstuk dossier 36 571 (nr. 3)"),
        ("kst-36571-5", "also in Kamerstuk dossier 36 571 (nr. 5)"),
    ]
    assert list(links(archive, "kst-36571-3", "same_dossier")) == ["kst-36571-5", "kst-36571-7"]


def test_kamerstuk_citations_both_ways(archive: Archive) -> None:
    assert links(archive, "kst-36571-5", "cites") == {"kst-36571-3": "this document cites Kamerstuk 36 571, nr. 3, which it is"}
    assert links(archive, "kst-36571-3", "cited_by") == {"kst-36571-5": "it cites this letter as “Kamerstuk 36 571, nr. 3”"}


def test_aanhangsel_citation_both_ways_is_not_a_question_link(archive: Archive) -> None:
    """Follow-up questions that cite an earlier answer cite it; they are not the questions it answers."""
    assert links(archive, "kamervragen-stoombrug-nadere", "cites") == {
        "ah-tk-20232024-1314": "this document cites Aanhangsel Handelingen II 2023/24, nr. 1314, which it is"
    }
    assert links(archive, "ah-tk-20232024-1314", "cited_by") == {
        "kamervragen-stoombrug-nadere": "it cites this document as “Aanhangsel Handelingen II 2023/24, nr. 1314”"
    }
    assert not links(archive, "kamervragen-stoombrug-nadere", "question")


def test_kenmerk_citation_both_ways(archive: Archive) -> None:
    assert links(archive, "kst-36571-3", "cites") == {
        "ienw-reactie-stoombrug": "this letter cites kenmerk IENW/BSK-2023/250117, its kenmerk"
    }
    assert links(archive, "ienw-reactie-stoombrug", "cited_by") == {
        "kst-36571-3": "it cites this letter's kenmerk IENW/BSK-2023/250117"
    }


def test_a_kenmerk_cited_by_the_reply_is_not_listed_twice(archive: Archive) -> None:
    relations = archive.related("vleuterdam-vervolg-stoombrug", k_similar=0)
    assert [(r.kind, r.target) for r in relations] == [("answers", "ienw-reactie-stoombrug")]


def test_similar_content_pairs_and_skips_what_is_listed(archive: Archive) -> None:
    for doc, other in [("zuiderwold-brief-ventilatie-scholen", "gbs-advies-binnenklimaat-scholen"),
                       ("gbs-advies-binnenklimaat-scholen", "zuiderwold-brief-ventilatie-scholen")]:
        [first, *rest] = [r for r in archive.related(doc) if r.kind == "similar"]
        assert first.target == other and "passage vectors" in first.reason and "distinctive terms" in first.reason
        assert all(first.score > r.score for r in rest) and len(rest) == 4
    relations = archive.related("kst-36571-5", k_similar=3)
    explicit = {r.target for r in relations if r.kind != "similar"}
    similar = [r for r in relations if r.kind == "similar"]
    assert len(similar) == 3 and not explicit & {r.target for r in similar} and "kst-36571-5" not in {r.target for r in similar}
    assert all(0 < r.score <= 1 for r in similar) and [r.score for r in similar] == sorted((r.score for r in similar), reverse=True)


@pytest.fixture(scope="module")
def real_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real documents: three moties from each of DOSSIERS (the first by id in the corpus manifest),
    the two PBM Woo documents and the two seed letters."""
    folder = tmp_path_factory.mktemp("real")
    rows = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines()]
    for dossier in DOSSIERS:
        for row in sorted((r for r in rows if r["collection"] == "moties" and r["dossier"] == dossier), key=lambda r: r["id"])[:3]:
            shutil.copy(CORPUS / row["text"], folder / Path(row["text"]).name)
    for source in [*PBM.glob("*.pdf"), *SEED_LETTERS]:
        shutil.copy(source, folder / source.name)
    path = tmp_path_factory.mktemp("real-archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([folder]).ok
    return path


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def real(request: pytest.FixtureRequest, real_path: Path) -> Archive:
    """`real_path`'s archive, or a copy of it migrated into PostgreSQL (its vectors copied: the
    similar letters of both backends rest on the same passage vectors)."""
    location: str | Path = real_path
    if request.param == "postgres":
        location = request.getfixturevalue("postgres").create("real")
        with Archive.open(real_path) as archive:
            assert archive.migrate(location).ok
    with Archive.open(location) as opened:
        yield opened


def test_similar_prefers_dossier_mates_without_reading_the_dossier(real: Archive) -> None:
    """With nothing excluded (the dossier link hidden: `similar` reads no stored link), the other
    moties of each motie's dossier fill most of the top-two places (chance alone fills 1 in 6), and
    no motie lists itself. Not every one: a motie asking for a study of residents' health near
    industry (Luchtkwaliteit) lists two moties of its submitter in the environment-vision dossier
    before the one on wood burning and particulates of its own."""
    moties = [d for d in real.store.documents() if d.dossier in DOSSIERS]
    assert len(moties) == 3 * len(DOSSIERS)
    in_top_two = 0
    for me in moties:
        found = [r.target for r in similar(real.store, me, real.indexes, 3, exclude=set())]
        assert len(found) == 3 and me.key not in found
        mates = {d.key for d in moties if d.dossier == me.dossier and d.id != me.id}
        in_top_two += len(mates & set(found[:2]))
    assert in_top_two > len(moties), in_top_two


def test_a_moties_signers_are_no_subject_of_its_distinctive_terms(real: Archive) -> None:
    """The lexical side reads a motie without its members' names (they sign moties on every subject):
    none of them is left in the text it weighs, and the motie's own words are."""
    for me in (d for d in real.store.documents() if d.dossier in DOSSIERS):
        names = _name_words(me.signatory)
        assert names, me.signatory
        [text] = without_names([real.store.document_text(me.id)], names)
        assert not names & set(re.findall(r"\w+", text.lower()))
        assert "gaat over tot de orde van de dag" in " ".join(text.split()).lower()


def test_similar_pairs_the_two_woo_documents_on_protective_equipment(real: Archive) -> None:
    notes, mail = (d for d in sorted(real.store.documents(), key=lambda d: d.key) if "WOO" in d.key)
    for me, other in ((notes, mail), (mail, notes)):
        relations = real.related(me.key)
        assert me.key not in {r.target for r in relations}
        assert [r.target for r in relations if r.kind == "similar"][0] == other.key


def test_groups_come_in_kind_order_with_explicit_score_one(archive: Archive) -> None:
    relations = archive.related("kst-36571-3")
    order = [KINDS.index(r.kind) for r in relations]
    assert order == sorted(order)
    assert all(r.score == 1.0 for r in relations if r.kind != "similar")
    first = relations[0]
    assert first.citation.document == first.target and first.citation.page == 1
    assert first.citation.kamerstuk == "36 571, nr. 5"


def test_thread_is_the_chain_earliest_first_from_any_member(archive: Archive) -> None:
    chain = ["vleuterdam-verzoek-stoombrug", "ienw-reactie-stoombrug", "vleuterdam-vervolg-stoombrug"]
    for doc in chain:
        thread = archive.related(doc, thread=True)
        assert [r.target for r in thread] == chain
        assert [r.kind for r in thread if r.target == doc] == ["self"]
    last = archive.related("vleuterdam-vervolg-stoombrug", thread=True)
    assert last[0].reason.startswith("via ienw-reactie-stoombrug (answers): ")
    questions = archive.related("kamervragen-stoombrug", thread=True)
    assert questions[0].target == "kamervragen-stoombrug"
    assert {r.target for r in questions[1:]} == {"ienw-antwoord-kamervragen-stoombrug", "ah-tk-20232024-1314"}


def test_doc_may_be_named_by_kenmerk(archive: Archive) -> None:
    assert archive.related("VLD/2023/04417", k_similar=0) == archive.related("vleuterdam-verzoek-stoombrug", k_similar=0)


def test_cli_json_shape(linked: tuple[str, list[Relation]]) -> None:
    result = CliRunner().invoke(cli, ["related", "IENW/BSK-2023/250117", "-a", str(linked[0]), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["document"] == "ienw-reactie-stoombrug" and payload["thread"] is False
    relation = payload["relations"][0]
    assert set(relation) == {"kind", "target", "title", "date", "reason", "score", "citation"}
    assert (relation["kind"], relation["target"], relation["score"]) == ("answers", "vleuterdam-verzoek-stoombrug", 1.0)
    assert relation["citation"]["kenmerk"] == "VLD/2023/04417" and relation["citation"]["page"] == 1
    assert [r["kind"] for r in payload["relations"]].count("similar") == 5


def test_cli_thread_text(linked: tuple[str, list[Relation]]) -> None:
    result = CliRunner().invoke(cli, ["related", "ienw-reactie-stoombrug", "--thread", "-a", str(linked[0])], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert [line.split()[1] for line in lines] == ["2023-09-05", "2023-10-12", "2023-11-02"]
    assert lines[1].endswith("◀ this document")


def test_cli_unknown_document(linked: tuple[str, list[Relation]]) -> None:
    result = CliRunner().invoke(cli, ["related", "no-such-letter", "-a", str(linked[0])])
    assert result.exit_code == 1 and "no document with id, path, kenmerk or Kamerstuk number 'no-such-letter'" in result.stderr


# --- pure helpers (no archive) ------------------------------------------------------------------

def test_questions_key_reads_the_header_as_questions_and_answers_print_it() -> None:
    question = "2024Z04567\n\nVragen van het lid Van Dijkhuizen (GroenLinks-PvdA) aan de minister van X over Y (ingezonden 12 maart 2024)."
    answer = ("Hierbij ontvangt u de antwoorden op de vragen van het lid Van Dijkhuizen (GroenLinks-PvdA) over Y "
              "(ingezonden 12 maart 2024, kenmerk 2024Z04567).")
    wrapped = "Vragen van de leden Erkens (VVD) en\nGrinwis (ChristenUnie) aan de Minister voor Klimaat en Energie over het\nartikel (ingezonden 18 juni\n2024)."
    assert questions_key(question) == questions_key(answer) == "van dijkhuizen|2024-03-12"
    assert questions_key(wrapped) == "erkens en grinwis|2024-06-18"
    assert questions_key("Geachte voorzitter, hierbij de brief.") is None


def test_role_and_aanhangsel_display() -> None:
    row = lambda doc_type, title: DocumentRow(1, "k", "/p", "s", "txt", doc_type=doc_type, title=title)  # noqa: E731
    assert role(row("antwoord op Kamervragen", None)) == "answer"
    assert role(row("Kamerbrief", "Antwoorden Kamervragen over de Stoombrug")) == "answer"
    assert role(row(None, "Vragen van het lid Van Dijkhuizen (GroenLinks-PvdA) aan de minister")) == "question"
    assert role(row("Kamervragen", None)) == "question"
    assert role(row("brief", "Reactie op uw brief")) is None
    assert display_aanhangsel("ah-tk-20232024-1314") == "Aanhangsel Handelingen II 2023/24, nr. 1314"
