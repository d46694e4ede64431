"""The passage cited for a document of written questions is one that answers, not one that asks.

Real Aanhangsel: the demo archive's `aanhangsel-tk-20232024-1314.pdf`, whose questions and answers
("Vraag 2 … Antwoord 2 …") are stored as passages of their own."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from archive import Archive
from archive.answers import asks_figure, holds_figure, prefer_answers, question_share
from archive.quotes import quotes
from archive.search import search
from tests.conftest import CORPUS, doc_of

AANHANGSEL = "aanhangsel-tk-20232024-1314"
AANHANGSEL_UUID = "00fe7edd-24c8-4857-98da-774ed3b06836"
"""The same Aanhangsel in the shared corpus, under its PLOOI name."""
KAMERVRAGEN = Path(__file__).resolve().parents[1] / "eval" / "kamervragen_queries.jsonl"
OCW = CORPUS / "text" / "ocw_documenten"
AMOUNTS = ("jaarverslag-college-voor-toetsen-en-examens-2022.txt",
           "Rapport_Adviesaanvraag_SER_AI_algoritmes_en_data_de_toekomst_van_werk_en_sociaaleconomische_implicaties.txt")


def _passages(archive: Archive, needle: str) -> dict:
    [doc] = [d for d in archive.store.documents() if needle in d.path]
    return archive.store.passages(archive.store.passage_ids([doc.id]).tolist())


def test_question_share_tells_asking_from_answering(demo: Archive) -> None:
    passages = _passages(demo, AANHANGSEL)
    asking = [p.text for p in passages.values() if re.match(r"\s*Vra(?:ag|gen) \d", p.text) and "Antwoord" not in p.text]
    answering = [p.text for p in passages.values() if re.match(r"\s*Antwoord \d", p.text) and "Vraag" not in p.text]
    assert asking and answering, "the Aanhangsel should store some questions and answers as passages of their own"
    assert all(question_share(t) == 1.0 for t in asking)
    assert all(question_share(t) == 0.0 for t in answering)
    both = [p.text for p in passages.values() if re.search(r"Vraag \d", p.text) and re.search(r"Antwoord \d", p.text)]
    assert all(0.0 < question_share(t) < 1.0 for t in both)


def test_prose_that_mentions_a_question_asks_nothing() -> None:
    assert question_share("Zoals in het antwoord op vraag 6 is aangegeven, blijft het beleid.") == 0.0
    assert question_share("Vraag 3, 4 en 5 Deelt u de mening dat dit zo is? Zo nee, waarom niet?") == 1.0


def test_other_documents_keep_their_order(demo: Archive) -> None:
    """A Kamerbrief's passages that ask (rhetorical questions, a questionnaire) are its content."""
    passages = _passages(demo, "Kamerbrief_emissie_luchtvaart")
    asking_first = sorted(passages, key=lambda pid: -question_share(passages[pid].text))
    ranked = [(pid, 1.0 / (rank + 1)) for rank, pid in enumerate(asking_first)]
    assert prefer_answers(demo.store, ranked, passages, passages[asking_first[0]].text) == ranked


def test_documents_keep_their_places_and_answers_come_first(demo: Archive) -> None:
    """Reordering moves passages only within the ranks their document holds."""
    mine = _passages(demo, AANHANGSEL)
    other = _passages(demo, "Kamerbrief_emissie_luchtvaart")
    questions_first = sorted(mine, key=lambda pid: -question_share(mine[pid].text))
    ids = [pid for pair in zip(questions_first, other) for pid in pair]
    ranked = [(pid, 1.0 / (rank + 1)) for rank, pid in enumerate(ids)]
    passages = {**mine, **other}
    after = prefer_answers(demo.store, ranked, passages, "luchtvaart")
    assert sorted(after) == sorted(ranked)
    assert [passages[pid].doc for pid, _ in after] == [passages[pid].doc for pid, _ in ranked]
    first_of_mine = next(pid for pid, _ in after if pid in mine)
    assert question_share(mine[first_of_mine].text) < 1.0


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_a_pasted_kamervraag_is_cited_at_its_answer(demo: Archive) -> None:
    """The real questions of this Aanhangsel (eval/kamervragen_queries.jsonl, judged by others), each
    searched as typed: the Aanhangsel's passage shown opens the minister's answer. Judged where the
    answer opens a passage of its own (where a passage holds question and answer, it is both)."""
    key = doc_of(demo, AANHANGSEL)
    texts = [_words(p.text) for p in _passages(demo, AANHANGSEL).values()]
    items = [json.loads(line) for line in KAMERVRAGEN.read_text(encoding="utf-8").splitlines()]
    judged = []
    for item in items:
        opening = " ".join(_words(item["answer"]).split()[:8])
        asked = " ".join(_words(item["query"]).split()[:8])
        if any(AANHANGSEL_UUID in path for path in item["relevant"]) and any(
            t.startswith("antwoord") and opening in t and asked not in t for t in texts
        ):
            judged.append((item, opening))
    assert judged
    for item, opening in judged:
        for mode in ("hybrid", "dense", "lexical"):
            hits = search(demo.store, demo.indexes, demo.encoder, item["query"], k=10, mode=mode, per_doc=True)
            [hit] = [h for h in hits if h.document == key]
            assert opening in _words(hit.text), (item["id"], mode, hit.text[:80])


def test_amounts_asked_and_stated() -> None:
    assert asks_figure("Hoeveel geld is gereserveerd voor het programma Integraal Riviermanagement?")
    assert asks_figure("Welk percentage van het grondgebied is verhard?")
    assert not asks_figure("Waarom kunnen betaaldienstverleners niet per transactie controleren?")
    for stated in ("703 miljoen euro", "tot 97%", "€ 1,7 mln", "10.000 kilo vuurwerk", "12,6 procent", "36 maanden"):
        assert holds_figure(stated), stated
    for bare in ("in 2026", "artikel 13 AI Act", "2 AD, 21 juni 2024", "Vraag 4"):
        assert not holds_figure(bare), bare


def test_an_answer_that_runs_on_follows_the_question_that_opens_it(demo: Archive) -> None:
    """Where one passage holds a pasted question and the opening of its answer, that passage is
    cited first and the passage the answer runs on into second, in every mode (real questions of
    the demo Aanhangsel, eval/kamervragen_queries.jsonl)."""
    mine = _passages(demo, AANHANGSEL)
    order = sorted(mine, key=lambda pid: mine[pid].char_start)
    items = [json.loads(line) for line in KAMERVRAGEN.read_text(encoding="utf-8").splitlines()]
    judged = 0
    for item in items:
        if not any(AANHANGSEL_UUID in path for path in item["relevant"]):
            continue
        holding = [pid for pid in order if quotes(item["query"], mine[pid].text) and "Antwoord" in mine[pid].text]
        if len(holding) != 1 or holding[0] == order[-1] or re.match(r"\s*Vraag \d", mine[order[order.index(holding[0]) + 1]].text):
            continue
        judged += 1
        runs_on = order[order.index(holding[0]) + 1]
        for mode in ("hybrid", "dense", "lexical"):
            hits = [h for h in search(demo.store, demo.indexes, demo.encoder, item["query"], k=10, mode=mode) if h.passage_id in mine]
            assert [h.passage_id for h in hits[:2]] == [holding[0], runs_on], (item["id"], mode)
    assert judged


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """Two long real reports whose summary pages and contents list name the topics of amounts
    stated pages further on (eval/page_queries.jsonl p067, p069)."""
    folder = tmp_path_factory.mktemp("amounts")
    for name in AMOUNTS:
        shutil.copy(OCW / name, folder / name)
    path = tmp_path_factory.mktemp("archive")
    with Archive.open(path, create=True) as archive:
        assert archive.ingest([folder]).ok
    return Archive.open(path)


@pytest.mark.parametrize("name, query, page", [
    ("jaarverslag-college", "Hoeveel heeft het College voor Toetsen en Examens in 2022 minder uitgegeven dan begroot?", 21),
    ("Rapport_Adviesaanvraag_SER", "Hoeveel procent van de AI-toepassingen wordt onder de AI-verordening als hoog risico aangemerkt?", 23),
])
def test_a_question_for_an_amount_is_cited_where_the_amount_stands(reports: Archive, name: str, query: str, page: int) -> None:
    """Before, the contents page (p. 1) and the page introducing the AI Act's risk classes (p. 22)."""
    hit = reports.search(query, k=1, per_doc=True)[0]
    assert name in hit.document and hit.page_start == page and holds_figure(hit.text), (hit.document, hit.page_start)
