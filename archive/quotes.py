"""A pasted text finds the passage that prints it.

A clerk who pastes a Kamervraag, a motie's dictum or a sentence of a letter is after the document
that prints it (and, for a question, the answer printed below it: `archive.answers`). Rank fusion
cannot see that: it ignores how far ahead one side is. For the real Kamervraag "Bent u van mening
dat u zich hiermee een betrouwbare partner toont richting decentrale overheden?" BM25 scores the
passage that prints it 35.1 against 18.3 for the next, while e5 ranks it among dozens of passages
about cooperation with municipalities; at equal rank weights it fell below passages both sides
rank moderately. On the real Kamervragen the hybrid ranking was below lexical alone on 6 of 118
(MRR@10 0.894 against 0.909, bench/QUALITY.md "A pasted text"). Word runs settle it without a
weight: a passage holding most of the query's three-word runs prints the query, which a paraphrase
or a list of keywords does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from archive.fusion import ranked as best_first
from indexer.store import PassageRow

RUN = 3
"""Words per run: pairs recur in any text on the subject ("decentrale overheden"); three-word runs
of a sentence rarely occur outside the text that prints it."""
QUOTED = 0.8
"""Share of the query's runs a passage must hold: a pasted question is all there (its own passage
holds 1.0 of it unless the question runs over a passage break or the cleaning joined a hyphenated
word the query splits)."""
MIN_RUNS = 6
"""Runs a query needs (eight words) before it counts as pasted: a short query of keywords or a
title is printed in many passages, and finding those is ranking's job, not this rule's."""
LOOKED_AT = 10
"""The lexical side's best passages checked: BM25 ranks the passage that prints a query at or near
the top, by a wide margin."""
_WORD = re.compile(r"\w+")


def runs(text: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def quotes(query: str, text: str) -> bool:
    """Whether `text` prints `query`: holds at least QUOTED of its three-word runs, of MIN_RUNS or
    more."""
    return _prints(runs(query), text)


def _prints(wanted: set[tuple[str, ...]], text: str) -> bool:
    return len(wanted) >= MIN_RUNS and len(wanted & runs(text)) >= QUOTED * len(wanted)


def quoted_first(
    ranked: list[tuple[int, float]], lexical: Mapping[int, float], passages: Mapping[int, PassageRow], query: str
) -> list[tuple[int, float]]:
    """The ranking with the passages that print the query (among the lexical side's LOOKED_AT best)
    moved to the top, keeping their order."""
    wanted = runs(query)
    if len(wanted) < MIN_RUNS:
        return ranked
    printing = {pid for pid, _ in best_first(lexical)[:LOOKED_AT] if pid in passages and _prints(wanted, passages[pid].text)}
    if not printing:
        return ranked
    return [item for item in ranked if item[0] in printing] + [item for item in ranked if item[0] not in printing]
