"""The query side: filters, dense and lexical candidates, fusion, exact identifiers, hits.

Users ask two kinds of question: paraphrases (dense retrieval finds them) and identifiers — a
kenmerk, "36 410 XVI nr. 137", an Aanhangsel number — that embeddings blur. Hybrid search fuses
both over the union of their candidates and puts documents whose stored metadata carries a
queried identifier first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date

import numpy as np

from archive.answers import in_reading_order, prefer_answers
from archive.boilerplate import strip as strip_boilerplate
from archive.citations import Citation, cite
from archive.errors import BadQuery
from archive.fusion import DENSE_WEIGHT, RRF_K, fuse
from archive.quotes import quoted_first
from archive.understand import BOOST, NARROW_CANDIDATES, Understood, understand
from indexer.backend import IndexBackend, StoreBackend
from indexer.encoders import Encoder
from indexer.keys import PRINTED, identifier_key, printed_keys
from indexer.records import DOC_TYPES, Reference
from indexer.references import find_identifiers, normalise_dossier
from indexer.store import DocumentFilter, DocumentRow, PassageRow

MODES = ("hybrid", "dense", "lexical")
SORTS = ("relevance", "date")
MAX_K = 1000
CANDIDATES = 100
"""Passages each side contributes before fusion (at least 10 × k)."""
SNIPPET_CHARS = 320


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class Filters(DocumentFilter):
    """Restrictions on which documents may answer: the store's `DocumentFilter`, with its values
    checked when the filters are made (BadQuery says which value and why). A dossier may be written
    as a clerk writes it ("36 410 XVI"), a vergaderjaar as "2023/2024"."""

    def __post_init__(self) -> None:
        for name, value in ((n.name, getattr(self, n.name)) for n in fields(self)):
            if value is not None and not value.strip():
                raise BadQuery(f"the {name} filter is empty; leave it out or give a value")
        for name in ("date_from", "date_to"):
            check_partial_date(name, getattr(self, name))
        if self.date_from and self.date_to and self.date_from[: len(self.date_to)] > self.date_to:
            raise BadQuery(f"the period runs backwards: from {self.date_from} to {self.date_to}")
        if self.doc_type and self.doc_type.lower() not in {t.lower() for t in DOC_TYPES}:
            raise BadQuery(f"unknown document type {self.doc_type!r}; known types: {', '.join(DOC_TYPES)}")

    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def check_partial_date(name: str, value: str | None) -> None:
    """Raise BadQuery unless `value` is None, a year, a year-month or a calendar date in ISO form."""
    if value is None:
        return
    match = _PARTIAL_DATE.fullmatch(value.strip())
    try:
        if not match:
            raise ValueError
        year, month, day = (int(g) if g else 1 for g in match.groups())
        date(year, month, day)
    except ValueError:
        raise BadQuery(
            f"{name} {value!r} is not a date; give a year (2023), a month (2023-05) or a day (2023-05-01)"
        ) from None


class Hits(list):
    """The hits of one search, best first, with `notes`: what the user should know about how the
    query was read (it was cut to the model's limit). A list, so `for hit in archive.search(…)` works."""

    def __init__(self, hits: Iterable[Hit] = (), notes: Sequence[str] = ()):
        super().__init__(hits)
        self.notes = list(notes)


@dataclass
class Hit:
    rank: int
    score: float
    document: str
    passage_id: int
    page_start: int
    page_end: int
    text: str
    snippet: str
    citation: Citation
    scores: dict[str, float] = field(default_factory=dict)
    """Each side's raw score where it had one: dense cosine, lexical BM25."""
    matched: str | None = None
    """The identifier in the query that this document carries ("kenmerk 2022-0000088502")."""


def allowed_documents(store: StoreBackend, filters: Filters) -> list[int] | None:
    """Ids of documents passing the filters, or None when there are no filters."""
    if not filters.active():
        return None
    stored = replace(
        filters,
        dossier=filters.dossier and (normalise_dossier(filters.dossier) or filters.dossier),
        vergaderjaar=filters.vergaderjaar and filters.vergaderjaar.replace("/", "-").replace("–", "-"),
    )
    return store.documents_matching(stored)


def kamerstuk_documents(store: StoreBackend, key: str) -> list[DocumentRow]:
    """Documents that are Kamerstuk `key` ("36410-XVI:137"), earliest first."""
    dossier, _, number = key.partition(":")
    return store.documents_by_kamerstuk(dossier, number)


CITED_KINDS = {
    "zaak": "zaak", "eu": "EU document", "ecli": "uitspraak", "staatsblad": "Staatsblad", "staatscourant": "Staatscourant",
    "woo": "Woo-document",
}
"""Identifiers a document names in its text rather than carries as its own: a Tweede Kamer zaak
number, an EU document id (COM(2021) 726), an ECLI, a Staatsblad or Staatscourant number, a Woo
document number. The documents that name one are what a clerk who types it is after: before, an EU id
present in a BNC-fiche's text ranked 14th (issue 17)."""


PARLIAMENTARY = ("kamerstuk", "aanhangsel")
"""Kinds whose own-document form comes from parsed fields (dossier, ondernummer, aanhangsel): printed
at a page's edge, such a number may be a footnote citing another paper (a Kamerbrief's recurring
"1 Kamerstuk 33009, nr. 117."), so it counts as named, not as the document's own."""


def identifier_matches(store: StoreBackend, identifiers: list[Reference]) -> dict[int, str]:
    """Documents that carry or name one of a query's `identifiers` (`find_identifiers`) → why.

    A precise identifier of the document's own (kenmerk, Kamerstuk with its number, Aanhangsel, or
    another identifier printed in its sidebar or running header or footer: `indexer.keys.PRINTED`)
    wins over one its text names (CITED_KINDS, and a Kamerstuk or Aanhangsel number printed at a
    page's edge: PARLIAMENTARY), which wins over a bare dossier number, which the Kamerstuk form
    also contains.
    """
    precise: dict[int, str] = {}
    named: dict[int, str] = {}
    dossier: dict[int, str] = {}
    for ref in identifiers:
        if ref.kind == "kamerstuk":
            rows = kamerstuk_documents(store, ref.value)
            found, why = precise, f"Kamerstuk {ref.text or ref.value}"
        elif ref.kind == "kenmerk":
            rows = store.documents_by_kenmerk(ref.value)
            found, why = precise, f"kenmerk {ref.value}"
        elif ref.kind == "aanhangsel":
            rows = store.documents_with_aanhangsel([ref.value])
            found, why = precise, f"Aanhangsel {ref.text or ref.value}"
        elif ref.kind in CITED_KINDS:
            rows = [row for row, _ in store.documents_citing(ref.kind, ref.value)]
            found, why = named, f"names {CITED_KINDS[ref.kind]} {ref.text or ref.value}"
        elif ref.kind == "dossier":
            rows = store.documents_in_dossier(ref.value)
            found, why = dossier, f"dossier {ref.text or ref.value}"
        else:
            continue
        for row in rows:
            found.setdefault(row.id, why)
        printed = dossier if ref.kind == "dossier" else named if ref.kind in PARLIAMENTARY else precise
        for row in store.documents_with_keys(PRINTED, [identifier_key(ref.value)]):
            printed.setdefault(row.id, f"prints {ref.text or ref.value}")
    return precise or named or dossier


def search(
    store: StoreBackend,
    indexes: IndexBackend,
    encoder: Encoder,
    query: str,
    *,
    k: int = 10,
    mode: str = "hybrid",
    filters: Filters = Filters(),
    per_doc: bool = False,
    dense_weight: float = DENSE_WEIGHT,
    sort: str = "relevance",
    offset: int = 0,
) -> Hits:
    """Return up to k hits after the first `offset`, best first or (sort="date") newest first among
    the candidates; raise BadQuery for an empty query, k or offset out of range or an unknown mode.

    A query longer than the query encoder reads (512 tokens for e5-small: a pasted letter) is cut
    there, for both halves, and the hits say so in `notes`: embedding and BM25 work stay bounded
    (a 1 MB query took minutes) and the dense side never sees text it would drop silently."""
    if not query or not query.strip():
        raise BadQuery("the query is empty; ask a question or give keywords")
    if not 1 <= k <= MAX_K:
        raise BadQuery(f"k must be between 1 and {MAX_K}, got {k}")
    if mode not in MODES:
        raise BadQuery(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if sort not in SORTS:
        raise BadQuery(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
    if not 0 <= offset <= MAX_K:
        raise BadQuery(f"offset must be between 0 and {MAX_K}, got {offset}")
    query, cut = encoder.fit_query(query)
    notes = []
    if cut:
        notes.append(f"the query was cut to its first {len(query):,} characters: the model reads {encoder.token_limit} tokens")
    with store.snapshot():
        allowed = allowed_documents(store, filters)
        if allowed is not None and not allowed:
            return Hits(notes=notes)
        depth = max(CANDIDATES, 10 * (k + offset)) * (3 if per_doc else 1)
        dense: dict[int, float] = {}
        lexical: dict[int, float] = {}
        vector = None
        text = strip_boilerplate(query)  # the subject, for both halves; identifiers read the query as typed
        if mode in ("hybrid", "dense") and len(indexes.vectors()):
            vector = encoder.query(text)
            dense = dict(indexes.dense(vector, depth, allowed_docs=allowed))
        if mode in ("hybrid", "lexical"):
            lexical = dict(indexes.lexical().search(text, depth, allowed_docs=allowed))
        identifiers = find_identifiers(query) if mode == "hybrid" else []
        matches = identifier_matches(store, identifiers)
        if allowed is not None:
            matches = {d: why for d, why in matches.items() if d in set(allowed)}
        understood = understand(query) if mode == "hybrid" else Understood()
        if vector is not None and understood.narrow():
            dense.update(_dense_scores(store, encoder.model_id, vector, _narrow_candidates(store, understood, allowed)))
        if mode == "hybrid":
            if vector is not None:
                dense.update(_dense_scores(store, encoder.model_id, vector, set(lexical) - set(dense)))
            ranked = fuse(dense, lexical, dense_weight)
        else:
            ranked = sorted((dense or lexical).items(), key=lambda item: (-item[1], item[0]))
        passages = store.passages([pid for pid, _ in ranked])  # drops passages removed since the index was written
        ranked = [(pid, score) for pid, score in ranked if pid in passages]
        if understood.boosts():
            notes.append(understood.describe())
            ranked = _boosted(store, ranked, passages, understood)
        if mode == "hybrid":
            ranked = quoted_first(ranked, lexical, passages, query)
        ranked = prefer_answers(store, ranked, passages, query)
        ranked = _identifier_first(store, ranked, passages, matches, identifiers)
        if per_doc:
            seen: set[int] = set()
            ranked = [(pid, s) for pid, s in ranked if not (passages[pid].doc in seen or seen.add(passages[pid].doc))]
        if sort == "date":
            dated = store.documents_by_ids(sorted({passages[pid].doc for pid, _ in ranked}))
            ranked.sort(key=lambda item: dated[passages[item[0]].doc].date or "", reverse=True)  # stable
        ranked = ranked[offset : offset + k]
        documents = store.documents_by_ids(sorted({passages[pid].doc for pid, _ in ranked}))
        return Hits(
            (
                _hit(rank, pid, score, passages[pid], documents[passages[pid].doc], query, dense, lexical, matches)
                for rank, (pid, score) in enumerate(ranked, start=offset + 1)
            ),
            notes,
        )


def _narrow_candidates(store: StoreBackend, understood: Understood, allowed: list[int] | None) -> set[int]:
    """Passages of the documents that match every facet of a narrow query."""
    docs = store.documents_matching(
        DocumentFilter(date_from=understood.period[0], date_to=understood.period[1], sender=understood.sender)  # type: ignore[index]
    )
    docs = [d for d in docs if allowed is None or d in set(allowed)]
    rows = store.documents_by_ids(docs)
    chosen = [d for d in docs if understood.matched(rows[d]) == 1.0][:NARROW_CANDIDATES]
    return set(store.passage_ids(chosen).tolist()) if chosen else set()


def _boosted(
    store: StoreBackend, ranked: list[tuple[int, float]], passages: dict[int, PassageRow], understood: Understood
) -> list[tuple[int, float]]:
    """The ranking with each passage's score raised by its document's share of the understood facets;
    for a query that names nothing but facets ("Kamerbrief EZK 30 mei 2023"), ordered by that share
    first and the fused score within it. Its words match letters of any date and sender: on the whole
    shared corpus the soft boost left the EZK letter of that day 40th and put an OCW letter of
    November first for "Kamerbrief OCW november 2023"."""
    documents = store.documents_by_ids(sorted({passages[pid].doc for pid, _ in ranked}))
    share = {pid: understood.matched(documents[passages[pid].doc]) for pid, _ in ranked}
    if not understood.content:
        return sorted(ranked, key=lambda item: -share[item[0]])  # stable: fused order within a share
    bonus = BOOST / (RRF_K + 1)
    return sorted(((pid, score + bonus * share[pid]) for pid, score in ranked), key=lambda item: (-item[1], item[0]))


def _dense_scores(store: StoreBackend, model: str, vector: np.ndarray, ids: set[int]) -> dict[int, float]:
    """Exact cosine for lexical-only candidates, from stored vectors: fusion sees both sides for all."""
    if not ids:
        return {}
    pids, matrix = store.passage_vectors(model, sorted(ids))
    return dict(zip(pids.tolist(), (matrix @ vector).tolist()))


def _identifier_first(
    store: StoreBackend, ranked: list[tuple[int, float]], passages: dict[int, PassageRow], matches: dict[int, str],
    identifiers: list[Reference],
) -> list[tuple[int, float]]:
    """Move passages of documents that carry a queried identifier to the top, keeping their order;
    a matching document with no candidate passage enters with its first passage. Unless only a
    dossier matched, each such document is cited at the passage that prints the identifier."""
    if not matches:
        return ranked
    top = [(pid, s) for pid, s in ranked if passages[pid].doc in matches]
    present = {passages[pid].doc for pid, _ in top}
    best = ranked[0][1] if ranked else 1.0
    for doc in matches.keys() - present:
        first = store.passage_ids([doc])
        if len(first):
            pid = int(first.min())
            passages.update(store.passages([pid]))
            top.append((pid, best))
    wanted = {identifier_key(ref.value) for ref in identifiers if ref.kind != "dossier"}
    if wanted:
        top = _printing_first(store, top, passages, wanted)
    rest = [(pid, s) for pid, s in ranked if passages[pid].doc not in matches]
    return top + rest


def _printing_first(
    store: StoreBackend, ranked: list[tuple[int, float]], passages: dict[int, PassageRow], wanted: set[str]
) -> list[tuple[int, float]]:
    """Each document's passages with the one that prints an identifier key in `wanted` first, at the
    document's best score: the first passage when none prints it, since a document's own kenmerk,
    Kamerstuk or reference number stands in its letter head or sidebar (page 1). Before, a search
    for a Kamerbrief's kenmerk with two topic words cited page 32 of 32 (the dev page questions).
    `passages` gains the rows of passages that enter."""
    leads: dict[int, int] = {}
    for doc in dict.fromkeys(passages[pid].doc for pid, _ in ranked):
        rows, order = in_reading_order(store, doc)
        leads[doc] = next((pid for pid in order if wanted & set(printed_keys([rows[pid].text]))), order[0])
        passages.setdefault(leads[doc], rows[leads[doc]])
    out: list[tuple[int, float]] = []
    cited: set[int] = set()
    for pid, score in ranked:
        lead = leads[passages[pid].doc]
        if lead not in cited:
            cited.add(lead)
            out.append((lead, score))
        if pid != lead:
            out.append((pid, score))
    return out


def _hit(
    rank: int,
    pid: int,
    score: float,
    passage: PassageRow,
    doc: DocumentRow,
    query: str,
    dense: dict[int, float],
    lexical: dict[int, float],
    matches: dict[int, str],
) -> Hit:
    scores = {name: round(side[pid], 4) for name, side in (("dense", dense), ("lexical", lexical)) if pid in side}
    return Hit(
        rank=rank,
        score=round(score, 4),
        document=doc.key,
        passage_id=pid,
        page_start=passage.page_start,
        page_end=passage.page_end,
        text=passage.text,
        snippet=snippet(passage.text, query),
        citation=cite(doc, passage.page_start, passage.page_end),
        scores=scores,
        matched=matches.get(doc.id),
    )


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The stretch of `text` that shares most words with the query, on one line."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    words = {w for w in re.findall(r"\w{4,}", query.lower())}
    sentences = [m.start() for m in re.finditer(r"(?:^|(?<=[.!?]\s))\S", flat)] or [0]
    best = max(sentences, key=lambda start: sum(w in flat[start : start + width].lower() for w in words))
    piece = flat[best : best + width]
    cut = piece.rfind(" ")
    piece = piece[:cut] if cut > width // 2 else piece
    return ("…" if best else "") + piece + "…"
