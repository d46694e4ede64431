"""Which of a document's passages to cite: the one that answers, not the one that asks.

An Aanhangsel (and any answer to written questions) prints each question again before its answer
("Vraag 3 Is … ? Antwoord 3 Ja, …"), and its first page repeats the questions' header. A query
about a topic matches the question's wording as well as, or better than, the answer's: the
question is phrased like the query, short and dense in its terms. So the passage cited for such a
document was often a question — another one than the user's, or the header page — and the page
shown was not the page that answers. On the real Kamervragen (bench/QUALITY.md, "the cited page")
a passage of the right document on the wrong page was the top hit for 43 of 118 questions, 20 of
them a passage that starts with "Vraag n".

`question_share` measures how much of a passage is question text; `prefer_answers` reorders the
passages of each document of written questions (`QUESTION_TYPES`) within the ranks that document
already holds, by fused score weighted by the passage's answer share; and when the passage that
found the document is a question that the query quotes, the passage opening its answer ("Antwoord n") takes that score
(or, where one passage holds question and answer opening, the passage the answer runs on into
follows it), entering the ranking if it was no candidate: a clerk who pastes a Kamervraag is after the answer
printed below it. Documents keep their places (document rankings are unchanged); only the passage,
and so the page, cited for each changes. In other documents questions are not lowered (in a
questionnaire or a letter that asks, the questions are the content); in every document a query that
asks for an amount prefers the passages that state one (`FIGURELESS`). Measured alone on both dev sets (bench/QUALITY.md,
"The cited page"): Kamervragen hybrid page@1 0.559 → 0.669 (answer share) → 0.932 (the answer to
the question that found the document), MRR@10 0.572 → 0.658 → 0.888; dev unchanged. The second
gain is for a question searched as printed; when the query does not find its own question, another
question's answer can be cited instead (the stress check in QUALITY.md).
"""

from __future__ import annotations

import re
from collections import Counter

from archive.quotes import quotes
from indexer.backend import StoreBackend
from indexer.store import PassageRow

ANSWER_REACH = 3
"""How many passages after a question the passage that opens its answer ("Antwoord n") may stand:
a long question runs on over a page break, and footnotes at the page's foot come between."""

QUESTION_TYPES = ("antwoord op Kamervragen", "Kamervragen")
"""Document types (`LetterFields.doc_type`) that print written questions, with or without answers."""

_MARKER = re.compile(
    r"(?=[VA])\b(?P<question>Vra(?:ag|gen)[ \t\u00a0]+\d{1,3}(?!\d|[.,]\d))"
    r"|(?=[VA])\b(?P<answer>Antwoord(?:en)?[ \t\u00a0]+\d{1,3}(?!\d|[.,]\d))"
    r"|(?=[VA])\b(?P<header>Vragen[ \t\u00a0]+van[ \t\u00a0]+(?:het|de)[ \t\u00a0]+led?(?:en)?\b"
    r"|Antwoord[ \t\u00a0]+van[ \t\u00a0]+(?:de[ \t\u00a0]+)?(?:[Mm]inister|[Ss]taatssecretaris))"
)
""""Vraag 3", "Vragen 10 en 11" open a question; "Antwoord 3" an answer; "Vragen van het lid …" and
"Antwoord van minister …" the questions' header, which names the topic and answers nothing.
Capitalised only: prose refers to "het antwoord op vraag 6"."""

_SENTENCE_END = re.compile(r"(?<=[.!?])")

FIGURELESS = 0.5
"""How much less a passage that states no amount counts when the query asks for one. Measured on
the page questions (bench/QUALITY.md, "Amounts"): the passage that names the topic (a summary, the
programme's description) outranked the one with the sum or percentage for 4 of 26 amount questions."""
_FIGURE_QUESTION = re.compile(
    r"(?i)\b(?:hoeveel|hoe (?:hoog|groot|veel|vaak|lang)|welke? (?:percentage|bedrag|deel|aantal|omvang)|wat kost)\b"
)
_FIGURE = re.compile(
    r"(?i)€\s?\d|\d[\d.,]*\s?(?:%|procent\b|euro\b|miljoen|miljard|mln\b|mld\b|duizend|maanden\b|jaar\b|dagen\b"
    r"|weken\b|uur\b|keer\b|kilo|kg\b|ton\b|mton\b|liter|km\b|meter\b)|\b\d{1,3}(?:\.\d{3})+\b|\b\d+,\d+\b"
)


def question_share(text: str) -> float:
    """The share of `text`'s characters that ask rather than answer: 0.0 for a passage without a
    question in it (most documents).

    Text before the first marker (all of it, without one) belongs to what precedes it: the end of a
    question when an answer marker follows; otherwise an answer running on, a title, or a question
    running on from the page before, told apart by its sentences ending in "?"."""
    if "?" not in text and "Vra" not in text and "Antwoord" not in text:
        return 0.0  # most passages: no need to read them
    markers = list(_MARKER.finditer(text))
    lead = text[: markers[0].start()] if markers else text
    asking = len(lead) if markers and markers[0]["answer"] else _asked(lead)
    for marker, following in zip(markers, markers[1:] + [None]):
        end = following.start() if following else len(text)
        if not marker["answer"]:
            asking += end - marker.start()
    return asking / len(text)


def _asked(text: str) -> int:
    """How many characters of `text` lie in sentences that end in a question mark."""
    return sum(len(sentence) for sentence in _SENTENCE_END.split(text) if sentence.endswith("?"))


def _ends_asking(text: str) -> bool:
    """Whether `text` ends inside a question ("Vraag 5 Is … ?"), so that its answer follows it."""
    markers = list(_MARKER.finditer(text))
    if markers:
        return bool(markers[-1]["question"])
    return text.rstrip().endswith("?")


def _continues(text: str) -> bool:
    """Whether `text` opens by running on with what came before, not with a new question."""
    marker = _MARKER.search(text)
    return marker is None or bool(marker["answer"]) or bool(text[: marker.start()].strip())


def _opens_answer(text: str) -> bool:
    return any(marker["answer"] for marker in _MARKER.finditer(text))


def in_reading_order(store: StoreBackend, doc: int) -> tuple[dict[int, PassageRow], list[int]]:
    """All of a document's passages, and their ids in the order the text reads."""
    rows = store.passages(store.passage_ids([doc]).tolist())
    return rows, sorted(rows, key=lambda pid: rows[pid].char_start)


def asks_figure(query: str) -> bool:
    """Whether the query asks for an amount ("Hoeveel …", "Welk percentage …")."""
    return bool(_FIGURE_QUESTION.search(query))


def holds_figure(text: str) -> bool:
    """Whether `text` states an amount: a sum of money, a percentage, a number with a unit or a
    number written with thousands or decimals. A bare year or a footnote number is none."""
    return bool(_FIGURE.search(text))


def prefer_answers(
    store: StoreBackend, ranked: list[tuple[int, float]], passages: dict[int, PassageRow], query: str
) -> list[tuple[int, float]]:
    """The ranking with the passages of each document reordered by how well they can answer, within
    the ranks the document holds.

    In a document of written questions a passage's score is lowered by its question share
    (score × (1 − share) for a positive score); and when the document's best passage is one that
    `query` quotes, then if it ends in the question, the passage opening its answer (within
    `ANSWER_REACH`) takes that score, and if it holds the answer's opening too, it keeps its score
    and the passage the answer runs on into follows it. A passage that enters this way without
    being a candidate comes after the document's last place. In any document, when the query asks
    for an amount, a passage that states none counts FIGURELESS less. Ties keep their order.
    `passages` gains the rows of passages that enter."""
    counts = Counter(passages[pid].doc for pid, _ in ranked)
    several = sorted(doc for doc, n in counts.items() if n > 1)
    asking = {doc for doc, row in store.documents_by_ids(several).items() if row.doc_type in QUESTION_TYPES}
    figure = asks_figure(query)
    chosen = set(several) if figure else asking
    if not chosen:
        return ranked
    by_doc: dict[int, list[tuple[int, float]]] = {}
    for item in ranked:
        by_doc.setdefault(passages[item[0]].doc, []).append(item)
    reordered = {doc: iter(_answers_first(store, by_doc[doc], passages, query, doc in asking, figure)) for doc in chosen}
    last = {passages[pid].doc: i for i, (pid, _) in enumerate(ranked)}
    out: list[tuple[int, float]] = []
    for i, (pid, score) in enumerate(ranked):
        doc = passages[pid].doc
        if doc not in chosen:
            out.append((pid, score))
            continue
        out.append(next(reordered[doc]))
        if last[doc] == i:
            out.extend(reordered[doc])  # answers that entered
    return out


def _answers_first(
    store: StoreBackend, items: list[tuple[int, float]], passages: dict[int, PassageRow], query: str, asking: bool, figure: bool
) -> list[tuple[int, float]]:
    """One document's candidate passages (`items`, best first), and in a document of written
    questions the answer to the question that found it when the query quotes that question, best first."""
    def key(score: float, text: str) -> float:
        if asking:
            score -= abs(score) * question_share(text)
        if figure and not holds_figure(text):
            score -= abs(score) * FIGURELESS
        return score

    scores = dict(items)
    keys = {pid: key(score, passages[pid].text) for pid, score in items}
    first, score = items[0]
    if asking and quotes(query, passages[first].text):
        rows, order = in_reading_order(store, passages[first].doc)
        start = order.index(first) + 1
        if _ends_asking(rows[first].text):
            answer = next((pid for pid in order[start : start + ANSWER_REACH] if _opens_answer(rows[pid].text)), None)
        elif _opens_answer(rows[first].text):
            keys[first] = score  # it holds the answer's opening, cited first; the answer runs on below it
            answer = order[start] if start < len(order) and _continues(rows[order[start]].text) else None
        else:
            answer = None
        if answer is not None and keys.get(answer, float("-inf")) < score:
            keys[answer] = score
            scores.setdefault(answer, score)
            passages.setdefault(answer, rows[answer])
    return sorted(scores.items(), key=lambda item: -keys[item[0]])
