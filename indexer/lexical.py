"""The lexical (BM25) index over passages: tantivy, fed with `indexer.analysis` terms.

Why tantivy rather than an in-memory BM25 (bm25s): it adds and deletes by passage or document
without rebuilding, its commits are atomic (a crash leaves the last commit intact), it filters by
document inside the query, and it reads segments through mmap instead of loading the corpus.

Terms are produced in Python by `analysis.analyse` and stored space-joined in a field that uses
tantivy's built-in `whitespace` tokenizer, so the index holds exactly what `analyse` produced and
queries are built term by term (a BooleanQuery of TermQuerys, SHOULD). No user text ever reaches
tantivy's query parser, so quotes, colons and parentheses in a query are just characters.
Scores are tantivy's BM25 (k1=1.2, b=0.75); document lengths are stored with tantivy's lossy
one-byte field norms, and deleted passages keep counting in the statistics until segments merge.

The index is derived from the store. Its directory holds tantivy's files plus `stamp.json`
(the caller's generation etc., together with the analysis and format versions), written after each
commit via temp file + rename. A crash between the two leaves an older stamp over newer content,
which the caller reads as stale and answers with `rebuild`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import tantivy

from indexer.analysis import ANALYSIS_VERSION, STEMMER_ALGORITHM, analyse
from indexer.stamps import STAMP_NAME, read_stamp, write_stamp

FORMAT_VERSION = 1
"""Bumped when the schema changes; an index stamped with another version reads as stale."""

_TERMS = "terms"
_DIGIT = re.compile(r"\d")
_WRITER_HEAP = 64_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("passage_id", indexed=True, fast=True)
    builder.add_integer_field("doc_id", indexed=True, fast=True)
    # Frequencies, no positions: ranking is BM25 over terms; phrase queries are not offered.
    builder.add_text_field(_TERMS, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _own_stamp() -> dict:
    """The fields this module adds to every stamp; a mismatch on read means rebuild."""
    return {
        "format": FORMAT_VERSION,
        "analysis": ANALYSIS_VERSION,
        "stemmer": STEMMER_ALGORITHM,
        "tantivy": tantivy.__version__,
    }


class LexicalIndex:
    """BM25 search over analysed passage text, keyed by passage id, filterable by document id."""

    def __init__(self, path: Path | None, index: tantivy.Index) -> None:
        self.path = path
        """The directory it was opened from; None for an index held in memory only."""
        self._index = index
        self._schema = index.schema

    @classmethod
    def open(cls, path: Path) -> LexicalIndex:
        """Open the index at directory `path`, creating an empty one if missing.

        An unreadable index (damaged files, another tantivy format) is derived data: it is
        replaced by an empty one, whose `stamp` is None so the caller rebuilds it.
        """
        path = Path(path)
        if (path / "meta.json").exists():
            try:
                return cls(path, tantivy.Index.open(str(path)))
            except ValueError:
                shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return cls(path, tantivy.Index(_schema(), path=str(path), reuse=False))

    @classmethod
    def read(cls, path: Path) -> LexicalIndex | None:
        """Open the index at `path` for searching only, or None when it is missing or unreadable.

        Writes nothing to `path` (what `check` and read-only archives need). Tantivy takes a lock
        file even to read, which fails on a directory the user cannot write; such an index is
        copied to a temporary directory first (its files are what a search maps anyway), removed
        when the index is dropped or the process ends.
        """
        path = Path(path)
        if not (path / "meta.json").is_file():
            return None
        source = path
        if not os.access(path, os.W_OK):
            try:
                source = Path(tempfile.mkdtemp(prefix="archive-lexical-"))
                shutil.copytree(path, source, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".tantivy-*"))
            except OSError:
                shutil.rmtree(source, ignore_errors=True)
                return None
        try:
            index = cls(path, tantivy.Index.open(str(source)))
        except ValueError:
            index = None
        if source != path:
            if index is None:
                shutil.rmtree(source, ignore_errors=True)
            else:
                weakref.finalize(index, shutil.rmtree, source, ignore_errors=True)
        return index

    @classmethod
    def in_memory(cls, rows: Iterable[tuple[int, int, str]]) -> LexicalIndex:
        """An index of `rows` held in memory: what a read-only archive searches when its lexical
        folder is missing or unreadable."""
        index = tantivy.Index(_schema())
        writer = index.writer(heap_size=2 * _WRITER_HEAP, num_threads=1)
        for passage_id, doc_id, text in rows:
            writer.add_document(_document(passage_id, doc_id, text))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        return cls(None, index)

    @staticmethod
    def remove_leftovers(path: Path) -> None:
        """Delete what a killed or failed rebuild/update left beside or inside `path`: build and
        old directories, temp stamps. Call only while holding the archive's writer lock: every
        such file belongs to a writer, so under the lock none is in use."""
        path = Path(path)
        for pattern in (f".{path.name}.build-*", f".{path.name}.old-*"):
            for leftover in path.parent.glob(pattern):
                shutil.rmtree(leftover, ignore_errors=True)
        for leftover in path.glob(f".{STAMP_NAME}.*.tmp"):
            leftover.unlink(missing_ok=True)

    @property
    def stamp(self) -> dict | None:
        """The stamp of the last completed update or rebuild; None if absent, unreadable, or written
        by another format/analysis version (then the index must be rebuilt)."""
        return None if self.path is None else self.read_stamp(self.path)

    @staticmethod
    def read_stamp(path: Path) -> dict | None:
        """The stamp in directory `path`, as `stamp` gives it, without opening the index."""
        return read_stamp(path, _own_stamp())

    def __len__(self) -> int:
        return self._index.searcher().num_docs

    def count_present(self, passage_ids: Collection[int]) -> int:
        """How many of `passage_ids` the index holds (one term-set query)."""
        if not len(passage_ids):
            return 0
        query = tantivy.Query.term_set_query(self._schema, "passage_id", [int(i) for i in passage_ids])
        return self._index.searcher().search(query, limit=1, count=True).count

    def update(
        self, add: Iterable[tuple[int, int, str]], remove_docs: Iterable[int], stamp: dict
    ) -> None:
        """Delete the passages of `remove_docs`, add `(passage_id, doc_id, text)` rows, commit, stamp.

        Deletes apply before adds, so re-indexing a changed document is `remove_docs=[doc]` plus its
        new passages in one call. An added passage id replaces any passage already stored under it,
        which makes repeating an update harmless. Nothing is visible until the single commit.
        """
        writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        try:
            for doc_id in remove_docs:
                writer.delete_documents_by_term("doc_id", int(doc_id))
            for passage_id, doc_id, text in add:
                writer.delete_documents_by_term("passage_id", int(passage_id))
                writer.add_document(_document(passage_id, doc_id, text))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        self._index.reload()
        write_stamp(self.path, {**stamp, **_own_stamp(), "count": len(self)})

    @classmethod
    def rebuild(cls, path: Path, rows: Iterable[tuple[int, int, str]], stamp: dict) -> LexicalIndex:
        """Build a fresh index from all `rows` in a sibling temp directory, then swap it in by rename.

        Until the swap, readers of `path` see the old index. The swap is two renames (old aside, new
        in); a crash between them leaves `path` missing, which `open` answers with an empty,
        unstamped index, i.e. another rebuild.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.build-{os.getpid()}")
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        for leftover in (tmp, old):
            shutil.rmtree(leftover, ignore_errors=True)
        try:
            tmp.mkdir()
            index = tantivy.Index(_schema(), path=str(tmp), reuse=False)
            writer = index.writer(heap_size=2 * _WRITER_HEAP, num_threads=2)
            count = 0
            try:
                for passage_id, doc_id, text in rows:
                    writer.add_document(_document(passage_id, doc_id, text))
                    count += 1
                writer.commit()
            except ValueError as error:  # tantivy's word for a failed write (a full disk)
                writer.rollback()
                raise OSError(f"could not build the lexical index in {tmp}: {error}") from error
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            write_stamp(tmp, {**stamp, **_own_stamp(), "count": count})
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk must not also leave a half-built copy
            raise
        if path.exists():
            os.rename(path, old)
        os.rename(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
        return cls.open(path)

    def search(
        self, query: str, k: int, *, allowed_docs: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Return up to `k` `(passage_id, bm25 score)` pairs, best first, for passages sharing any term
        with `query`; with `allowed_docs`, only passages of those documents (filtered inside the
        query, so the k are the best k among them). Any string is a valid query."""
        terms = list(dict.fromkeys(analyse(query)))
        if k <= 0 or not terms or (allowed_docs is not None and not allowed_docs):
            return []
        text = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, _TERMS, t)) for t in terms]
        )
        if allowed_docs is not None:
            docs = tantivy.Query.term_set_query(self._schema, "doc_id", [int(d) for d in allowed_docs])
            # Score 0 for the filter leaves the BM25 score untouched.
            text = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, text),
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(docs, 0.0)),
                ]
            )
        searcher = self._index.searcher()
        hits = searcher.search(text, limit=k, count=False).hits
        ids = searcher.fast_field_values("passage_id", [address for _, address in hits])
        return [(int(pid), float(score)) for pid, (score, _) in zip(ids, hits)]

    def documents_of(self, passage_ids: Collection[int]) -> dict[int, int]:
        """passage id → its document id, for those of `passage_ids` the index holds (read from the
        index's fast fields: 1-2 ms for 700 ids, where reading the passages from the store took
        10-50 ms)."""
        if not len(passage_ids):
            return {}
        searcher = self._index.searcher()
        query = tantivy.Query.term_set_query(self._schema, "passage_id", [int(i) for i in passage_ids])
        addresses = [address for _, address in searcher.search(query, limit=len(passage_ids), count=False).hits]
        passages = searcher.fast_field_values("passage_id", addresses)
        docs = searcher.fast_field_values("doc_id", addresses)
        return {int(p): int(d) for p, d in zip(passages, docs)}

    def more_like_this(self, texts: Iterable[str], *, terms: int, k: int, skip_doc: int) -> dict[int, float]:
        """Documents sharing the distinctive terms of `texts` (a document's passages): document id →
        its best passage's BM25 score for a query of the `terms` heaviest terms, over up to `k`
        passages, `skip_doc`'s own passages left out.

        A term weighs (1 + ln tf) · ln(N / df), tf its count in `texts`, df the passages that hold it
        and N all passages; the query's terms are boosted by those weights. Dampened tf keeps e-mail
        furniture repeated in every message of a thread (addresses, "groet", weekdays) from
        outweighing a subject named twice; a term in no other passage (df < 2) links nothing, and
        terms with digits (dates, dossier and page numbers) are left out so that "similar" rests on
        words, not on a shared number (tantivy's own more-like-this weighs raw tf, which let
        `minvws` and `nl` lead the query for a Woo e-mail on protective equipment).
        """
        searcher = self._index.searcher()
        chosen = distinctive_terms(
            texts, terms, searcher.num_docs, lambda wanted: {t: searcher.doc_freq(_TERMS, t) for t in wanted}
        )
        if not chosen or k <= 0:
            return {}
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(self._schema, _TERMS, term), weight))
                for term, weight in chosen.items()
            ]
            + [(tantivy.Occur.MustNot, tantivy.Query.term_query(self._schema, "doc_id", int(skip_doc)))]
        )
        hits = searcher.search(query, limit=k, count=False).hits
        docs = searcher.fast_field_values("doc_id", [address for _, address in hits])
        best: dict[int, float] = {}
        for doc, (score, _) in zip(docs, hits):
            best.setdefault(int(doc), float(score))  # hits come best first
        return best


def distinctive_terms(
    texts: Iterable[str], count: int, total: int, doc_freq: Callable[[Collection[str]], dict[str, int]]
) -> dict[str, float]:
    """The `count` heaviest terms of `texts` → weight, as `LexicalIndex.more_like_this` describes:
    (1 + ln tf) · ln(total / df) over `analyse`d terms without digits, terms with df < 2 left out
    (`doc_freq`: passages holding each term, asked once for all; `total`: all passages). Shared
    with the PostgreSQL backend, so both pick the same query."""
    counts = Counter(t for text in texts for t in analyse(text) if not _DIGIT.search(t))
    df = doc_freq(list(counts))
    weights = {
        term: (1 + math.log(tf)) * math.log(total / df[term]) for term, tf in counts.items() if df.get(term, 0) >= 2
    }
    return dict(sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:count])


def _document(passage_id: int, doc_id: int, text: str) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("passage_id", int(passage_id))
    doc.add_integer("doc_id", int(doc_id))
    doc.add_text(_TERMS, " ".join(analyse(text)))
    return doc
