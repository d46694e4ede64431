"""Related documents: replies, Kamervragen and their answers, dossier siblings, citations, similar content.

Every explicit link follows from what ingest stores with each document in the document's own
transaction: its fields (kenmerk, uw_kenmerk, uw_brief_date, dossier, ondernummer, aanhangsel), the
references found in its text (`refs`) and its lookup keys (`indexer.keys`: kenmerken and the
Kamervragen header in normal form). Links are therefore matched here, with the store's typed reads
over those, when they are asked for: there is no link table that could fall behind the store, and
ingesting an answer after its question links the two both ways at once.

Kinds, always read from the document asked about towards the target:

| kind | the target … |
|---|---|
| answers | is the letter this one replies to (Uw kenmerk, or "uw brief van <datum>" from that correspondent) |
| answered_by | replies to this letter |
| question | holds the Kamervragen this document answers |
| answer | answers the Kamervragen in this document |
| same_dossier | is another Kamerstuk in this document's dossier (ordered by ondernummer, then date) |
| cites | is cited by this document (Kamerstuk, Aanhangsel or kenmerk in the text) |
| cited_by | cites this document |
| similar | has similar content (rank fusion of nearest passages and shared distinctive terms), not listed under any other kind |

`thread` follows only the reply links (answers, question/answer) transitively and returns the chain
in date order, the document asked about included as kind "self".
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from archive.citations import Citation, cite, display_dossier, dutch_date
from archive.fusion import RRF_K, ranked, reciprocal_rank
from indexer.backend import DenseSearch, IndexBackend, LexicalSearch, StoreBackend
from indexer.keys import kenmerk_key, kenmerk_tokens
from indexer.store import DocumentRow

KINDS = ("answers", "answered_by", "question", "answer", "same_dossier", "cites", "cited_by", "similar")
"""Relation kinds in the order `related` lists their groups."""

THREAD_KINDS = frozenset({"answers", "answered_by", "question", "answer"})
"""The links a reply chain (`thread`) follows."""

MAX_THREAD = 200
"""A chain longer than this is cut off (a corpus where every letter answers every other is not a thread)."""

HEAD_CHARS = 500
"""Characters of the colophon and of the text read as the letterhead, where a writer's name stands."""

_KENMERK_PLACES = {"kenmerk": "kenmerk", "uw_kenmerk": "Uw kenmerk", "cited_kenmerk": "text"}
"""Lookup key kinds that hold kenmerken → where such a kenmerk stands, in the order a kenmerk found
in several places is named by."""


@dataclass
class Relation:
    """One related document and why it is related."""

    kind: str
    """One of KINDS ("self" only in a thread, for the document asked about)."""
    target: str
    """The related document's key (`archive show` takes it)."""
    title: str
    date: str | None
    reason: str
    """Why, in words: "its Uw kenmerk VLD/2023/04417 is this letter's kenmerk"."""
    score: float
    """1.0 for explicit links; for "similar", the fused score over its maximum (1.0: first by both
    passage vectors and distinctive terms)."""
    citation: Citation
    """The target's citation, page 1."""


@dataclass
class _Link:
    kind: str
    target: DocumentRow
    reason: str
    evidence: str = ""
    """For citations: "kamerstuk", "aanhangsel" or "kenmerk" (the reference that made the link)."""


# --- display ------------------------------------------------------------------------------------

def display_aanhangsel(key: str) -> str:
    """'ah-tk-20232024-1314' → 'Aanhangsel Handelingen II 2023/24, nr. 1314'."""
    match = re.fullmatch(r"ah-(tk|ek)-(\d{4})(\d{4})-(\d+)", key)
    if not match:
        return key
    house = "II" if match[1] == "tk" else "I"
    return f"Aanhangsel Handelingen {house} {match[2]}/{match[3][2:]}, nr. {match[4]}"


def _display_kamerstuk(value: str) -> str:
    dossier, _, number = value.partition(":")
    return f"Kamerstuk {display_dossier(dossier)}, nr. {number}"


_STOPWORDS = frozenset(
    "van de der den het en voor aan t.a.v. tav mevrouw heer dhr mw mr drs dr ir prof "
    "minister ministerie staatssecretaris college burgemeester wethouders gemeente directie directeur "
    "postbus haag gravenhage afdeling team bureau tweede kamer staten-generaal voorzitter "
    "secretaris-generaal per e-mail".split()
)


def _name_words(*values: str | None) -> set[str]:
    """Distinctive words of names and addresses ("Bond van Waterstaatpersoneel" → {bond, waterstaatpersoneel})."""
    words: set[str] = set()
    for value in values:
        for word in re.findall(r"[^\W\d_][\w'’.-]*", (value or "").lower()):
            word = word.strip(".-'’")
            if len(word) >= 4 and word not in _STOPWORDS:
                words.add(word)
    return words


# --- Kamervragen ------------------------------------------------------------------------------

def role(doc: DocumentRow) -> str | None:
    """"question" for Kamervragen, "answer" for their answers, None for anything else."""
    kind = (doc.doc_type or "").lower()
    title = " ".join((doc.title or "").lower().split())
    if "antwoord" in kind or re.match(r"(?:antwoord(?:en)?|beantwoording)\b.{0,40}\b(?:kamer)?vragen", title):
        return "answer"
    if "kamervragen" in kind or re.match(r"(?:schriftelijke\s+)?vragen\s+van\s+(?:het\s+lid|de\s+leden)\b", title):
        return "question"
    return None


# --- the link finders ----------------------------------------------------------------------------

class _Finder:
    """Link queries for one document, over one store snapshot."""

    def __init__(self, store: StoreBackend, me: DocumentRow, *, this: str | None = None):
        self.store = store
        self.me = me
        self.role = role(me)
        self.this = this or _this(me, self.role)

    def _others(self, docs: list[DocumentRow]) -> list[DocumentRow]:
        return [d for d in docs if d.id != self.me.id]

    def _keyed(self, kinds: tuple[str, ...], keys: list[str]) -> list[DocumentRow]:
        """The other documents found under `keys` of `kinds`."""
        return self._others(self.store.documents_with_keys(kinds, keys))

    # replies and Kamervragen ------------------------------------------------------------------

    def _pair_kind(self, target: DocumentRow, replying: bool) -> str:
        """answers / answered_by, or question / answer when the two are Kamervragen and their answer."""
        other = role(target)
        if self.role == "answer" and other == "question":
            return "question"
        if self.role == "question" and other == "answer":
            return "answer"
        return "answers" if replying else "answered_by"

    def replies(self) -> list[_Link]:
        me, this = self.me, self.this
        links: list[_Link] = []
        answered = set()
        for token in kenmerk_tokens(me.uw_kenmerk):
            for doc in self._keyed(("kenmerk",), [token]):
                answered.add(doc.id)
                links.append(_Link(self._pair_kind(doc, True), doc, f"{_pos(this)} Uw kenmerk {doc.kenmerk} is its kenmerk"))
        if me.kenmerk:
            for doc in self._keyed(("uw_kenmerk",), [kenmerk_key(me.kenmerk)]):
                links.append(_Link(self._pair_kind(doc, False), doc, f"its Uw kenmerk {me.kenmerk} is {_pos(this)} kenmerk"))
        if me.uw_brief_date and not answered:
            when = dutch_date(me.uw_brief_date)
            for doc in self._others(self.store.documents_dated(me.uw_brief_date)):
                if (words := self._answers_by_date(me, doc)) is not None:
                    links.append(_Link(
                        self._pair_kind(doc, True), doc,
                        f"{this} answers “uw brief van {when}” (no kenmerk given); it is a letter of {when} "
                        f"between the same correspondents ({words})",
                    ))
        if me.date:
            when = dutch_date(me.date)
            for doc in self._others(self.store.documents_answering_date(me.date)):
                if (words := self._answers_by_date(doc, me)) is not None:
                    links.append(_Link(
                        self._pair_kind(doc, False), doc,
                        f"it answers “uw brief van {when}” (no kenmerk given), and {this} is a letter of {when} "
                        f"between the same correspondents ({words})",
                    ))
        return links

    def _answers_by_date(self, reply: DocumentRow, original: DocumentRow) -> str | None:
        """Whether `reply` ("In jullie brief van <date>") answers `original` of that date; the words
        that show the two are between the same correspondents, or None when it does not.

        No kenmerk may say otherwise, and the reply's addressee must name the original's writer
        (its sender, signatory or letterhead), or the original's addressee the reply's writer.
        """
        if reply.uw_brief_date != original.date:
            return None
        if reply.uw_kenmerk:
            if original.kenmerk:
                return None  # both kenmerken known and they differ (equal ones link by kenmerk)
            tokens = kenmerk_tokens(reply.uw_kenmerk)
            if self.store.documents_with_keys(("kenmerk",), tokens):
                return None  # its Uw kenmerk names another stored letter
        shared = _name_words(reply.addressee) & _name_words(
            original.sender, original.signatory, original.sender_unit, self.store.document_head(original.id, HEAD_CHARS)
        )
        shared = shared or _name_words(original.addressee) & _name_words(
            reply.sender, reply.signatory, reply.sender_unit, self.store.document_head(reply.id, HEAD_CHARS)
        )
        return ", ".join(sorted(shared)) if shared else None

    def questions(self, listed: set[int]) -> list[_Link]:
        """Kamervragen ↔ answers by shared kenmerk (zaaknummer), shared Aanhangsel number, or the
        same "vragen van het lid … (ingezonden …)" header."""
        if self.role is None:
            return []
        me, this = self.me, self.this
        links: list[_Link] = []

        def add(doc: DocumentRow, reason: str) -> None:
            if doc.id in listed or role(doc) in (None, self.role):
                return
            listed.add(doc.id)
            links.append(_Link("question" if self.role == "answer" else "answer", doc, reason))

        # kenmerk / zaaknummer in any place of one and any place of the other
        mine = self._kenmerken_of(me.id)
        if mine:
            keys = list(mine)
            for doc in self._keyed(("kenmerk", "cited_kenmerk"), keys):
                theirs = self._kenmerken_of(doc.id)
                for key in keys:
                    if key in theirs:
                        add(doc, f"{key} is {_place(mine[key], this)} and {_place(theirs[key], None)}")
                        break
            for token in keys:
                for doc in self._keyed(("uw_kenmerk",), [token]):
                    add(doc, f"{token} is {_place(mine[token], this)} and its Uw kenmerk")

        # Aanhangsel number: the question must not be later than the answer (else it cites it)
        numbers = {me.aanhangsel} if me.aanhangsel else set()
        numbers |= {ref.value for ref in self.store.refs(me.id, "aanhangsel")}
        if numbers:
            found = self._others(self.store.documents_with_aanhangsel(sorted(numbers)))
            if me.aanhangsel:
                found += self._others([doc for doc, _ in self.store.documents_citing("aanhangsel", me.aanhangsel)])
            for doc in found:
                question, answer = (me, doc) if self.role == "question" else (doc, me)
                if question.date and answer.date and question.date > answer.date:
                    continue
                theirs = {doc.aanhangsel} | {ref.value for ref in self.store.refs(doc.id, "aanhangsel")}
                if shared := sorted(numbers & theirs):
                    add(doc, f"both are {display_aanhangsel(shared[0])}")

        # the questions header
        for _, key in self.store.keys(me.id, "questions"):
            members, _, day = key.partition("|")
            for doc in self._keyed(("questions",), [key]):
                add(doc, f"both concern the vragen van {members.title()} (ingezonden {dutch_date(day)})")
        return links

    def _kenmerken_of(self, doc_id: int) -> dict[str, str]:
        """A document's kenmerken (its own, its Uw kenmerk, those its text cites) → where each stands."""
        keys = self.store.keys(doc_id)
        found: dict[str, str] = {}
        for kind, place in _KENMERK_PLACES.items():
            for key in (key for k, key in keys if k == kind):
                found.setdefault(key, place)
        return found

    # dossier and citations ---------------------------------------------------------------------

    def dossier(self) -> list[_Link]:
        me = self.me
        if not me.dossier:
            return []
        docs = self._others(self.store.documents_in_dossier(me.dossier))
        docs.sort(key=lambda d: (_number(d.ondernummer), d.ondernummer or "", d.date or "", d.key))
        name = display_dossier(me.dossier)
        return [
            _Link("same_dossier", d, f"also in Kamerstuk dossier {name}" + (f" (nr. {d.ondernummer})" if d.ondernummer else ""))
            for d in docs
        ]

    def citations(self) -> list[_Link]:
        me, this = self.me, self.this
        links: list[_Link] = []
        for ref in self.store.refs(me.id, "kamerstuk"):
            dossier, _, number = ref.value.partition(":")
            for doc in self._others(self.store.documents_by_kamerstuk(dossier, number)):
                links.append(_Link("cites", doc, f"{this} cites {_quoted(_display_kamerstuk(ref.value), ref.text)}, which it is", "kamerstuk"))
        for ref in self.store.refs(me.id, "aanhangsel"):
            for doc in self._others(self.store.documents_with_aanhangsel([ref.value])):
                links.append(_Link("cites", doc, f"{this} cites {_quoted(display_aanhangsel(ref.value), ref.text)}, which it is", "aanhangsel"))
        for ref in self.store.refs(me.id, "kenmerk"):
            for doc in self._others(self.store.documents_by_kenmerk(ref.value)):
                links.append(_Link("cites", doc, f"{this} cites kenmerk {ref.value}, its kenmerk", "kenmerk"))
        if me.dossier and me.ondernummer:
            key = f"{me.dossier}:{re.sub(r'[^0-9A-Za-z]', '', me.ondernummer).upper()}"
            for doc, text in self._citing("kamerstuk", key):
                links.append(_Link("cited_by", doc, f"it cites {this} as “{_short(text)}”", "kamerstuk"))
        if me.aanhangsel:
            for doc, text in self._citing("aanhangsel", me.aanhangsel):
                links.append(_Link("cited_by", doc, f"it cites {this} as “{_short(text)}”", "aanhangsel"))
        if me.kenmerk:
            for doc in self._keyed(("cited_kenmerk",), [kenmerk_key(me.kenmerk)]):
                links.append(_Link("cited_by", doc, f"it cites {_pos(this)} kenmerk {me.kenmerk}", "kenmerk"))
        return links

    def _citing(self, kind: str, value: str) -> list[tuple[DocumentRow, str]]:
        return [(doc, text) for doc, text in self.store.documents_citing(kind, value) if doc.id != self.me.id]

    def explicit(self) -> list[_Link]:
        """Every explicit link, one per (kind, target), reasons of the same pair joined."""
        replies = self.replies()
        listed = {link.target.id for link in replies}
        qa = self.questions(listed)
        threaded = {link.target.id for link in replies + qa}
        # a kenmerk or Aanhangsel cited between a letter and its reply is the reply link itself
        cites = [c for c in self.citations() if not (c.target.id in threaded and c.evidence != "kamerstuk")]
        return _merge(replies + qa + self.dossier() + cites)


def _this(doc: DocumentRow, its_role: str | None) -> str:
    """How reasons name the document asked about: "this letter" or "this document"."""
    if its_role != "question" and (doc.doc_type or "brief").lower() in {"brief", "kamerbrief"}:
        return "this letter"
    return "this document"


def _pos(this: str) -> str:
    """Possessive: "this letter's", "these questions'"."""
    return f"{this}'" if this.endswith("s") else f"{this}'s"


def _place(where: str, this: str | None) -> str:
    """Where a kenmerk stands: "this letter's Uw kenmerk", "its kenmerk", "printed in it"."""
    if where == "text":
        return f"printed in {this or 'it'}"
    return f"{_pos(this)} {where}" if this else f"its {where}"


def _number(value: str | None) -> int:
    match = re.match(r"\d+", value or "")
    return int(match.group()) if match else 10**9


def _quoted(name: str, text: str) -> str:
    """The reference by its normal name, with the words the letter used when they differ."""
    words = _short(text)
    squash = lambda s: re.sub(r"[\W_]", "", s).lower()  # noqa: E731
    return name if squash(words) in squash(name) else f"{name} (“{words}”)"


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _merge(links: list[_Link]) -> list[_Link]:
    merged: dict[tuple[str, int], _Link] = {}
    for link in links:
        key = (link.kind, link.target.id)
        if key in merged:
            if link.reason not in merged[key].reason:
                merged[key].reason += "; " + link.reason
        else:
            merged[key] = _Link(link.kind, link.target, link.reason)
    return list(merged.values())


def _relation(link: _Link, score: float = 1.0) -> Relation:
    doc = link.target
    citation = cite(doc, 1)
    return Relation(link.kind, doc.key, citation.title, doc.date, link.reason, round(float(score), 4), citation)


def _order(link: _Link) -> tuple:
    """Groups in KINDS order; dossier siblings keep their ondernummer order, the rest go by date."""
    kind = KINDS.index(link.kind)
    if link.kind == "same_dossier":
        return (kind, _number(link.target.ondernummer), link.target.ondernummer or "", link.target.date or "", link.target.key)
    return (kind, 0, "", link.target.date or "9999", link.target.key)


# --- similar content ---------------------------------------------------------------------------

SAMPLE = 16
"""Passages of the document that each side reads (evenly spread over a longer document): a motie
has one or two, a 9-page Kamerbrief about 25, so the sample covers most letters whole and samples
each part of a report. Analysing and searching more costs the longest documents (a 963-passage
jaarverslag) tens of milliseconds per side."""
DENSE_NEIGHBOURS = 50
"""Nearest passages per sampled passage. A document none of them belongs to scores that passage's
50th cosine (it is at most that close). 20 and 100 gave 0.89 / 0.90 on the dossier proxy, 50 0.91
(bench/similar_proxy.py, dense side alone)."""
LEXICAL_TERMS = 30
"""Terms in the more-like-this query (Lucene's default is 25; 15 / 30 / 50 gave 0.66 / 0.72 / 0.75
on the dossier proxy with the lexical side alone, with 30 the query still reads as the document's
subject)."""
LEXICAL_PASSAGES = 200
"""Passages the more-like-this query returns, grouped by document (best passage per document)."""
SIMILAR_DENSE_WEIGHT = 0.7
"""Share of the passage-vector side in the rank fusion of the two sides. On the dossier proxy
(bench/similar_proxy.py, 480 moties with dossier mates) the lexical side alone scores 0.72 and the
passage side 0.91, and the fusion gains with the passage side's share: 0.85 at 0.5, 0.88 at 0.7,
0.89 at 0.8. On ten hand-judged documents that are not moties, seven lists differ between 0.5 and
0.7 in one or two entries, none of them on subject at either weight; the documents the lexical
side brings in (the Lorentzprijs speech beside the other award speeches, the e-mail on guidelines
for pregnant workers beside the notes on protective equipment for workers) stay at 0.7 and are
lost without it (bench/QUALITY.md, "Similar letters")."""


def _spread(ids: np.ndarray, count: int) -> list[int]:
    """At most `count` of the sorted `ids`, evenly spread from first to last."""
    ids = np.sort(ids)
    if len(ids) > count:
        ids = ids[np.linspace(0, len(ids) - 1, count).round().astype(int)]
    return [int(i) for i in ids]


def sample(store: StoreBackend, me: DocumentRow) -> list[int]:
    """The passages of `me` that both sides read (SAMPLE of them, evenly spread)."""
    return _spread(store.passage_ids([me.id]), SAMPLE)


def dense_neighbours(
    store: StoreBackend, vectors: DenseSearch, lexical: LexicalSearch, me: DocumentRow, passages: list[int]
) -> dict[int, float]:
    """Other documents → the mean, over `me`'s sampled `passages`, of the best cosine between
    each of them and the document's passages (a passage's DENSE_NEIGHBOURS-th cosine when none of
    them is that close).

    Passage against passage rather than mean against mean: a mean vector blurs a letter's subject
    with its letterhead and closing, and e5's cosines between means crowd into 0.95–0.97. The found
    passages' documents are read from `lexical` (`documents_of`: tantivy's fast fields, or SQL).
    """
    model = store.model()
    if model is None or not len(vectors):
        return {}
    _, queries = store.passage_vectors(model[0], passages)
    if not len(queries):
        return {}
    results = vectors.search(queries, DENSE_NEIGHBOURS)
    doc_of = lexical.documents_of({pid for row in results for pid, _ in row})
    best: dict[int, dict[int, float]] = {}
    for i, row in enumerate(results):
        for pid, score in row:
            doc = doc_of.get(pid)
            if doc is not None and doc != me.id and score > best.setdefault(doc, {}).get(i, -2.0):
                best[doc][i] = score
    floors = [row[-1][1] if row else 0.0 for row in results]
    return {doc: sum(seen.get(i, floor) for i, floor in enumerate(floors)) / len(floors) for doc, seen in best.items()}


def lexical_neighbours(store: StoreBackend, lexical: LexicalSearch, me: DocumentRow, passages: list[int]) -> dict[int, float]:
    """Other documents → the BM25 score of their best passage for a query of `me`'s distinctive
    terms (`LexicalSearch.more_like_this` over its sampled `passages`), its signatories' names left
    out (`without_names`)."""
    texts = without_names([text for _, _, text in store.passage_rows(passages)], _name_words(me.signatory))
    return lexical.more_like_this(texts, terms=LEXICAL_TERMS, k=LEXICAL_PASSAGES, skip_doc=me.id)


def without_names(texts: list[str], names: set[str]) -> list[str]:
    """`texts` without the words of `names` (`_name_words` of a signatory field).

    Who signed is no subject: a motie's members sign moties on every subject, and their names are
    among its most distinctive terms, so the lexical side listed other moties of the same members.
    Left out, the dossier proxy rose 0.877 → 0.907 and the Woo proxy stayed 0.244
    (bench/similar_proxy.py; bench/QUALITY.md "Similar letters, a second answer key")."""
    if not names:
        return texts
    pattern = re.compile(r"(?i)\b(?:" + "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) + r")\b")
    return [pattern.sub(" ", text) for text in texts]


def similar(store: StoreBackend, me: DocumentRow, indexes: IndexBackend, k: int, exclude: set[int]) -> list[Relation]:
    """The k documents most like this one by rank fusion of its passages' nearest passages
    (`dense_neighbours`) and its distinctive terms (`lexical_neighbours`), skipping `exclude`.

    Uses no stored field or link: dossier, kenmerk and references play no part (what
    bench/similar_proxy.py relies on). The score is the fused score over its maximum: 1.0 for a
    document first on both sides.
    """
    if k <= 0:
        return []
    lexical_index = indexes.lexical()
    passages = sample(store, me)
    dense = dense_neighbours(store, indexes.vectors(), lexical_index, me, passages)
    lexical = lexical_neighbours(store, lexical_index, me, passages)
    ranks = [{doc: rank for rank, (doc, _) in enumerate(ranked(side), start=1)} for side in (dense, lexical)]
    fused = reciprocal_rank(dense, lexical, SIMILAR_DENSE_WEIGHT)
    chosen = [(doc, score) for doc, score in fused if doc != me.id and doc not in exclude][:k]
    docs = store.documents_by_ids([doc for doc, _ in chosen])
    top = 2 / (RRF_K + 1)
    return [
        _relation(_Link("similar", docs[doc], _similar_reason(ranks[0].get(doc), ranks[1].get(doc))), score / top)
        for doc, score in chosen
        if doc in docs
    ]


def _similar_reason(dense_rank: int | None, lexical_rank: int | None) -> str:
    """"similar content: 2nd by passage vectors, 5th by shared distinctive terms"."""
    sides = [
        f"{_ordinal(rank)} by {what}" if rank else f"not among the documents nearest by {what}"
        for rank, what in ((dense_rank, "passage vectors"), (lexical_rank, "shared distinctive terms"))
    ]
    return "similar content: " + ", ".join(sides)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# --- entry points ------------------------------------------------------------------------------

def related(store: StoreBackend, me: DocumentRow, *, indexes: IndexBackend | None, k_similar: int = 5) -> list[Relation]:
    """Every document related to `me`, grouped in KINDS order, each with its reason.

    Explicit links come from stored fields and references; "similar" lists the `k_similar`
    documents most like it (`similar`, over `indexes`) that are not already listed.
    """
    with store.snapshot():
        links = sorted(_Finder(store, me).explicit(), key=_order)
        relations = [_relation(link) for link in links]
        if indexes is not None:
            relations += similar(store, me, indexes, k_similar, {link.target.id for link in links})
    return relations


def thread(store: StoreBackend, me: DocumentRow) -> list[Relation]:
    """The reply chain `me` belongs to, earliest letter first, `me` included as kind "self".

    Follows answers / answered_by and question / answer links transitively. Each other member's
    kind and reason describe its link to the member it was reached from: `me` for direct links,
    else the member named at the start of the reason ("via ienw-reactie-stoombrug (answers): …").
    """
    with store.snapshot():
        found: dict[int, tuple[DocumentRow, str, str, int]] = {me.id: (me, "self", "the document asked about", 0)}
        queue = deque([me])
        while queue and len(found) < MAX_THREAD:
            current = queue.popleft()
            finder = _Finder(store, current, this=None if current.id == me.id else current.key)
            replies = finder.replies()
            links = replies + finder.questions({link.target.id for link in replies})
            for link in _merge(links):
                if link.target.id in found or link.kind not in THREAD_KINDS:
                    continue
                reason = link.reason if current.id == me.id else f"via {current.key} ({link.kind}): {link.reason}"
                found[link.target.id] = (link.target, link.kind, reason, len(found))
                queue.append(link.target)
        members = sorted(found.values(), key=lambda item: (item[0].date or "9999", item[3]))
        return [_relation(_Link(kind, doc, reason)) for doc, kind, reason, _ in members]
