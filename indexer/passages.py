"""Split a document's cleaned text into retrieval passages that follow paragraph boundaries.

Paragraphs (blank-line separated) are packed greedily up to a target size in model tokens; a
paragraph longer than the model's limit is cut at sentence ends, and a sentence longer than that at
word boundaries. Every passage is a span of the document text, so `text[char_start:char_end]` is
the passage and its pages follow from the page offsets: nothing is rewritten, nothing is lost.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence

from indexer.records import Passage

DEFAULT_TARGET_TOKENS = 200
"""Chosen on the dev queries with `bench/tuning.py sizes 120 200 350` (Aanhangsels, IenW letters,
moties, plooi; 71 judged queries): hybrid MRR@10 0.957 / 0.962 / 0.934 and Recall@10 0.973 / 0.977 /
0.981; dense alone 0.850 / 0.855 / 0.822. Smaller passages blur nothing but split answers; larger
ones dilute the dense vector."""

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[A-Z0-9À-Ý•–-])")
_WORD = re.compile(r"\S+")

MAX_PASSAGE_TOKENS = 500
"""No passage is longer, even where the model reads more: the cap every archive and dev-set figure
so far was cut with. It is a passage size, not a model limit: the model's own limit (e5-small reads
512 tokens, prefix and special tokens included) comes from the encoder and wins where it is lower.
Lifting the cap to e5-small's 512 recut long paragraphs in 29 of the shared corpus's 628 text files
(5,597 passages → 5,583), which would move the dev-set figures; that is a separate, measured change."""

Span = tuple[int, int]
CountTokens = Callable[[Sequence[str]], list[int]]
"""The model tokenizer's lengths for a batch of texts (`Encoder.count_tokens`), so limits hold for the real model."""


def split_passages(
    text: str,
    page_starts: Sequence[tuple[int, int]],
    count_tokens: CountTokens,
    *,
    token_limit: int,
    target_tokens: int = DEFAULT_TARGET_TOKENS,
) -> list[Passage]:
    """Return passages covering every non-blank part of `text`, in order.

    Paragraphs are counted in one call; only a paragraph over the limit is counted again, by
    sentences and words, to cut it.

    Args:
        page_starts: (page number, char offset where that page's text begins), ascending.
        token_limit: the most tokens the model reads (`Encoder.token_limit`); no passage is
            longer than this or MAX_PASSAGE_TOKENS, as `count_tokens` counts.
    """
    max_tokens = min(token_limit, MAX_PASSAGE_TOKENS)
    target_tokens = min(target_tokens, max_tokens)
    paragraphs = _spans(text, _PARAGRAPH_BREAK, 0, len(text))
    pieces: list[tuple[Span, int]] = []
    for span, tokens in zip(paragraphs, _counts(text, paragraphs, count_tokens)):
        pieces.extend(_fit(text, span, tokens, count_tokens, max_tokens))
    groups: list[list[tuple[Span, int]]] = []
    group: list[tuple[Span, int]] = []
    size = 0
    for piece in pieces:
        if group and size + piece[1] > target_tokens:
            groups.append(group)
            group, size = [], 0
        group.append(piece)
        size += piece[1]
    if group:
        if groups and size < target_tokens // 4 and _counts(text, [_joined(groups[-1])], count_tokens)[0] + size <= max_tokens:
            group = groups.pop() + group
        groups.append(group)
    return [_passage(text, fitted, page_starts) for fitted in _checked(text, groups, count_tokens, max_tokens)]


def _joined(group: list[tuple[Span, int]]) -> Span:
    return group[0][0][0], group[-1][0][1]


def _checked(
    text: str, groups: list[list[tuple[Span, int]]], count_tokens: CountTokens, max_tokens: int
) -> list[list[tuple[Span, int]]]:
    """The groups, each as one passage when its joined text fits as counted (one call for all), else
    packed again counting every join. Sums of piece counts bound the joined count from above for
    the tokenizers of sentence-transformers models (each count holds the special tokens once more
    than the join needs: see `_pack`), so this only cuts for a tokenizer whose counts do not add up
    (hypothesis found "111111111111 111": 4 + 1 tokens apart, 6 joined, at a limit of 5)."""
    several = [i for i, group in enumerate(groups) if len(group) > 1]
    joined = dict(zip(several, _counts(text, [_joined(groups[i]) for i in several], count_tokens)))
    out: list[list[tuple[Span, int]]] = []
    for i, group in enumerate(groups):
        if joined.get(i, 0) > max_tokens:
            out.extend([piece] for piece in _pack_counting(text, group, count_tokens, max_tokens))
        else:
            out.append(group)
    return out


def _counts(text: str, spans: list[Span], count_tokens: CountTokens) -> list[int]:
    return count_tokens([text[start:end] for start, end in spans]) if spans else []


def _spans(text: str, separator: re.Pattern[str], start: int, end: int) -> list[Span]:
    """Non-blank stretches of text[start:end] between separators, stripped of outer whitespace."""
    spans = []
    cursor = start
    for match in separator.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[0] < s[1]]


def _strip(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _fit(text: str, span: Span, tokens: int, count_tokens: CountTokens, max_tokens: int) -> list[tuple[Span, int]]:
    """Cut a span of `tokens` tokens into pieces of at most max_tokens: sentences first, words as a last resort."""
    if tokens <= max_tokens:
        return [(span, tokens)]
    sentences = _spans(text, _SENTENCE_END, *span)
    if len(sentences) == 1:
        return _cut_words(text, span, count_tokens, max_tokens)
    pieces: list[tuple[Span, int]] = []
    for sentence, count in zip(sentences, _counts(text, sentences, count_tokens)):
        pieces.extend(_fit(text, sentence, count, count_tokens, max_tokens))
    return _pack(text, pieces, count_tokens, max_tokens)


def _pack(text: str, pieces: list[tuple[Span, int]], count_tokens: CountTokens, max_tokens: int) -> list[tuple[Span, int]]:
    """Join consecutive sentence pieces back together while the joined text fits.

    Joined counts are added up rather than counted: every count holds the prefix and special
    tokens once, and the tokenizers of sentence-transformers models (SentencePiece, WordPiece)
    split at whitespace before anything else, so the count of two sentences joined by a space is
    the sum of theirs less that overhead. The packed pieces are then counted once, in one call, and
    a paragraph where a sum fell short is packed again counting every join. Counting each join
    counted the text of a long paragraph over and over: on 150 text files of the shared corpus the
    splitter counted 3.3 MB of joined text for 1.4 MB of text, 5.3 of its 6.0 CPU seconds."""
    one, two = count_tokens(["woord", "woord woord"])
    overhead = 2 * one - two  # what a count holds besides its text's own tokens, counted once per text
    packed: list[tuple[Span, int]] = []
    for span, tokens in pieces:
        if packed and packed[-1][1] + tokens <= max_tokens:  # as when each join was counted: the same passages
            (start, _), previous = packed[-1]
            packed[-1] = ((start, span[1]), previous + tokens - overhead)
        else:
            packed.append((span, tokens))
    spans = [span for span, _ in packed]
    counts = _counts(text, spans, count_tokens)
    if max(counts, default=0) <= max_tokens:
        return list(zip(spans, counts))
    return _pack_counting(text, pieces, count_tokens, max_tokens)


def _pack_counting(
    text: str, pieces: list[tuple[Span, int]], count_tokens: CountTokens, max_tokens: int
) -> list[tuple[Span, int]]:
    """`_pack` for a tokenizer whose counts do not add up: every join counted."""
    packed: list[tuple[Span, int]] = []
    for span, tokens in pieces:
        if packed:
            (start, _), previous = packed[-1]
            joined = count_tokens([text[start : span[1]]])[0] if previous + tokens <= max_tokens else max_tokens + 1
            if joined <= max_tokens:
                packed[-1] = ((start, span[1]), joined)
                continue
        packed.append((span, tokens))
    return packed


def _cut_words(text: str, span: Span, count_tokens: CountTokens, max_tokens: int) -> list[tuple[Span, int]]:
    words = [m.span() for m in _WORD.finditer(text, *span)]
    pieces: list[tuple[Span, int]] = []
    first = 0
    while first < len(words):
        low, high = first + 1, len(words)
        while low < high:  # the longest run of words that still fits
            middle = (low + high + 1) // 2
            if count_tokens([text[words[first][0] : words[middle - 1][1]]])[0] <= max_tokens:
                low = middle
            else:
                high = middle - 1
        piece = (words[first][0], words[low - 1][1])
        pieces.append((piece, count_tokens([text[piece[0] : piece[1]]])[0]))
        first = low
    return pieces


def _passage(text: str, group: list[tuple[Span, int]], page_starts: Sequence[tuple[int, int]]) -> Passage:
    start, end = group[0][0][0], group[-1][0][1]
    return Passage(
        page_start=_page_at(page_starts, start),
        page_end=_page_at(page_starts, end - 1),
        char_start=start,
        char_end=end,
        text=text[start:end],
    )


def _page_at(page_starts: Sequence[tuple[int, int]], offset: int) -> int:
    if not page_starts:
        return 1
    index = bisect_right([s for _, s in page_starts], offset) - 1
    return page_starts[max(index, 0)][0]
