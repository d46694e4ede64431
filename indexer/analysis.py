"""Dutch lexical analysis shared by the lexical index and its queries.

Passages and queries go through the same `analyse`, so whatever the index stores a query can
produce. The choices, each checked on the moties and the seed letters in shared/corpus:

- **Stemmer: Snowball `dutch_porter`, not `dutch`.** The newer `dutch` algorithm (Snowball 3)
  strips *ge-* and collapses words hard: gemeente→meen, gezondheid→zon, gedrag→drag,
  werkgever→werkver, woning→woon, huurder→huur. That merges unrelated words ("gezondheid" with
  "zon") and makes identifier-like vocabulary unrecognisable, which costs precision in exactly the
  place where a lexical index earns its keep next to dense retrieval. `dutch_porter` keeps
  werkgever/werkgevers, medewerker/medewerkers, onderzoek/onderzoeken, kamerbrief and
  woning/woningen together; it misses -s plurals after -e (gemeente/gemeentes) and the verb -t
  (verzoek/verzoekt), gaps the e5 side of the search covers.
- **Diacritics are folded after stemming**, because the stemmer reads ë/ï as syllable marks
  (financiële, coördinatie); folding first would change its decisions. "coördinatie" and
  "coordinatie" both end up as "coordinatie".
- **Identifiers stay whole and are also split.** A run of letters/digits joined by - / . _ or a
  dash ("2022-0000088502", "36410-XVI", "kst-29984-1082", "NABO-programma") yields the run
  joined without connectors ("20220000088502", "36410xvi", "naboprogramma") plus each part.
  Dutch thousands grouping ("36 410", "29 984") yields the joined number and the groups, and a
  Roman numeral right after it also yields number+numeral. So "36 410 XVI nr. 137" and
  "Kamerstuk 36410-XVI, nr. 137" share 36410, xvi, 36410xvi, nr and 137.
- **Stop words**: Snowball's Dutch list (the one `bm25s.stopwords.STOPWORDS_DUTCH` carries),
  dropped only as stand-alone words or parts, never from a joined identifier.
- **Closed compounds also yield their parts**, split by `indexer.decompound` against OpenTaal's
  word list: "stikstofuitstoot" → stikstofuitstoot, stikstof, uitstoot, so "uitstoot van stikstof"
  finds it. A fixed list, not one learnt from the corpus, keeps analysis independent of the index's
  contents (queries and passages analysed at different times agree); the list's identity is part
  of ANALYSIS_VERSION. Hyphenated compounds are split as identifiers (above).
- A word with one or two digits glued to its end ("onderwijs1", "begroting3") is a footnote
  marker lost in PDF extraction: the word is emitted as well as the token as printed.
- Single letters and tokens longer than 64 characters are dropped: initials and list markers are
  noise, overlong runs are URLs or extraction garbage.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import Stemmer

from indexer import decompound


def _snowball_dutch_stopwords() -> frozenset[str]:
    """bm25s's copy of Snowball's Dutch stop list, read from its module file: `import bm25s` pulls in
    scipy (seconds on a busy machine), which `archive search` must not pay for a word list."""
    spec = importlib.util.find_spec("bm25s")
    assert spec is not None and spec.submodule_search_locations, "bm25s is a dependency"
    location = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_bm25s_stopwords", location))
    module.__loader__.exec_module(module)  # type: ignore[union-attr]
    return frozenset(module.STOPWORDS_DUTCH)


STEMMER_ALGORITHM = "dutch_porter"
"""Recorded in the lexical index's stamp: changing it means the index must be rebuilt."""

ANALYSIS_VERSION = f"2+{decompound.WORDLIST_ID}"
"""Bumped whenever `analyse` changes its output, so that stamped indexes are rebuilt; it names the
word list that split compounds, since another list (or none) gives other terms."""

MAX_TOKEN_CHARS = 64

_STOPWORDS = _snowball_dutch_stopwords()
_STEMMER = Stemmer.Stemmer(STEMMER_ALGORITHM)

_SPACE = r"[ \u00a0\u202f]"
_CONNECTOR = r"[-\u2010\u2011\u2012\u2013/._]"
_TOKEN = re.compile(
    # Thousands-grouped number ("36 410", "1 250 000"), optionally a Roman numeral ("36 410 XVI").
    rf"(?P<groups>(?<![\w.,\-\u2013])\d{{1,3}}(?:{_SPACE}\d{{3}})+(?!\d))"
    rf"(?:(?:{_SPACE}|{_CONNECTOR})(?P<roman>[IVXLC]+)\b)?"
    # A run of letters/digits, possibly joined by connectors ("36410-XVI", "2024Z00446").
    rf"|(?P<run>[^\W_]+(?:{_CONNECTOR}[^\W_]+)*)"
)
_SPLIT_CONNECTORS = re.compile(_CONNECTOR)
_FOOTNOTE = re.compile(r"([^\W\d_]{4,})\d{1,2}")
_SPLIT_SPACE = re.compile(_SPACE)


def _fold(token: str) -> str:
    """Drop combining marks (ë→e, ö→o) so spellings with and without diacritics meet.

    Whitespace is dropped too: a few compatibility characters decompose into several words, and
    the lexical index splits its stored terms on whitespace.
    """
    return "".join(
        c for c in unicodedata.normalize("NFKD", token) if not (unicodedata.combining(c) or c.isspace())
    )


@lru_cache(maxsize=200_000)
def _word(token: str) -> str | None:
    """Normalise one lowercase part: stop word → None, letters → stem, anything with digits kept."""
    if token in _STOPWORDS:
        return None
    if token.isalpha():
        if len(token) < 2:
            return None
        token = _STEMMER.stemWord(token)
    folded = _fold(token)
    return folded if 0 < len(folded) <= MAX_TOKEN_CHARS else None


@lru_cache(maxsize=200_000)
def _compound_parts(token: str) -> tuple[str, ...]:
    """The terms of a closed compound's parts ("stikstofuitstoot" → stikstof, uitstoot), or ()."""
    if not token.isalpha() or token in _STOPWORDS:
        return ()
    parts = decompound.split(token)
    return tuple(word for part in parts if (word := _word(part)) is not None) if parts else ()


def _joined(parts: list[str]) -> str | None:
    """The identifier form of a connected run: its parts glued together, stemmed only if all letters."""
    token = "".join(parts)
    if token.isalpha():
        token = _STEMMER.stemWord(token)
    folded = _fold(token)
    return folded if 0 < len(folded) <= MAX_TOKEN_CHARS else None


def analyse(text: str) -> list[str]:
    """Return the index terms of `text` in order of appearance (duplicates kept for term frequency).

    Used for passages and queries alike; never raises on any input string.
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        groups, roman, run = match.group("groups", "roman", "run")
        if groups is not None:
            digits = _SPLIT_SPACE.split(groups)
            number = "".join(digits)
            tokens.append(number)
            tokens.extend(digits)
            if roman is not None:
                tokens.append(roman.lower())
                tokens.append(number + roman.lower())
            continue
        run = run.lower()
        if run.isalpha():  # the common case: one plain word
            if (word := _word(run)) is not None:
                tokens.append(word)
                tokens.extend(_compound_parts(run))
            continue
        parts = _SPLIT_CONNECTORS.split(run)
        if len(parts) > 1:
            joined = _joined(parts)
            if joined is not None:
                tokens.append(joined)
        for part in parts:
            if (word := _word(part)) is not None:
                tokens.append(word)
                tokens.extend(_compound_parts(part))
            if part[-1].isdigit() and (footnote := _FOOTNOTE.fullmatch(part)) and (word := _word(footnote.group(1))):
                tokens.append(word)
    return tokens

