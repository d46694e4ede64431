"""Document text as safe HTML: every piece escaped first, then query terms wrapped in <mark> and
references to stored documents turned into links."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from markupsafe import Markup, escape

from indexer.analysis import analyse

_WORD = re.compile(r"[^\W_]+")
_NEGATED = re.compile(r"(?:^|\s)-\S+")


def query_terms(query: str) -> frozenset[str]:
    """The lexical index terms of the query, without the words it excludes (`-term`)."""
    return frozenset(analyse(_NEGATED.sub(" ", query)))


def highlight(text: str, query: str) -> Markup:
    """`text` escaped, with each word that shares an index term with the query (same stem,
    diacritics folded: what the lexical side matched) inside <mark>."""
    terms = query_terms(query)
    out, last = [], 0
    for match in _WORD.finditer(text):
        if terms.intersection(analyse(match.group())):
            out += [escape(text[last : match.start()]), Markup("<mark>"), escape(match.group()), Markup("</mark>")]
            last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def linkify(text: str, targets: Mapping[str, str], href: str = "/documents/{}") -> Markup:
    """`text` escaped, each printed reference in `targets` (as found at ingest) linked to its document."""
    if not targets:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(targets, key=len, reverse=True)))
    out, last = [], 0
    for match in pattern.finditer(text):
        url = href.format(quote(targets[match.group()], safe=""))
        out += [escape(text[last : match.start()]), Markup('<a href="{}">{}</a>').format(url, match.group())]
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
