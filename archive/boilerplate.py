"""Parliamentary boilerplate in queries: the phrasing of a written question, not its subject.

Kamervragen open and close in set forms — "Bent u bekend met het bericht …?", "Deelt u de mening
dat …?", "Kunt u aangeven …?", "Zo ja, …; zo nee, waarom niet?" — and users who paste a question, or
write in its style, bring them along. Both halves read them as content: the encoder moves the query
towards other questions (the genre) rather than towards the answer, and BM25 rewards passages that
repeat "bekend", "bericht", "mening" or "aangeven". `strip` removes these forms from the query
before it is encoded and matched, leaving its subject; identifiers and snippets keep the query as
typed. Measured alone on both dev sets (bench/QUALITY.md, step 3): Kamervragen hybrid MRR@10
0.593 → 0.610 and R@10 0.864 → 0.890, dense 0.542 → 0.556, lexical 0.514 → 0.522; no dev query
holds any of these forms, so dev is unchanged.
"""

from __future__ import annotations

import re

_SOURCE = r"(?:het|de|dit|deze|een)\s+(?:[\w-]+\s+)?(?:bericht|artikel|nieuwsbericht|berichtgeving|uitzending|rapport|onderzoek|brief|item|interview|opiniestuk|reportage|publicatie|column)(?:en)?"

_SENTENCES = re.compile(
    r"(?i)(?:^|(?<=[.?!;]))\s*(?:"
    r"(?:zo|indien)\s+(?:ja|nee|niet)[,:]?\s+(?:waarom|welke|wanneer|hoe|wat|op welke wijze)(?:\s+(?:wel|niet))?\s*[?.]"
    r"|waarom\s+(?:wel|niet)\s*[?.]"
    r"|graag\s+een\s+\w+\s+antwoord\s*[.!]?"
    r"|kunt\s+u\s+(?:deze|de(?:ze)?)\s+vragen\s+[^?]*beantwoorden\s*\?"
    r"|(?:kunt|wilt)\s+u\s+uw\s+antwoord\s+toelichten\s*[?.]"
    r")"
)
"""Whole sentences that carry nothing but the form of a question."""

_PHRASES = re.compile(
    r"(?i)\b(?:"
    rf"(?:bent|was)\s+u\s+(?:voorts\s+|ook\s+)?(?:bekend|op\s+de\s+hoogte)\s+met(?:\s+het\s+feit\s+dat|\s+{_SOURCE})?"
    r"|(?:in\s+hoeverre\s+)?bent\s+u\s+(?:het\s+)?(?:van\s+mening|ermee\s+eens)(?:\s+dat)?"
    r"|is\s+(?:het\s+)?(?:bij\s+)?u\s+bekend\s+dat"
    rf"|heeft\s+u\s+kennis\s*genomen\s+van(?:\s+{_SOURCE})?"
    rf"|kent\s+u(?:\s+{_SOURCE})?"
    r"|deelt\s+u\s+(?:de\s+mening|het\s+standpunt|de\s+opvatting|de\s+zorgen|de\s+analyse|de\s+conclusie)(?:\s+(?:van\s+\S+\s+)?dat)?"
    r"|(?:kunt|kan|wilt|zou)\s+u(?:\s+(?:ons|de\s+kamer|daarbij|hierbij|nader|concreet|precies|per\s+\w+))*\s+"
    r"(?:aangeven|toelichten|uitleggen|uiteenzetten|verduidelijken|bevestigen|inzichtelijk\s+maken|specificeren"
    r"|beschrijven|reflecteren\s+op|informeren\s+over|een\s+overzicht\s+geven\s+van|een\s+toelichting\s+geven\s+op"
    r"|uw\s+reactie\s+geven\s+op|uiteenzetten)"
    r"|wat\s+is\s+uw\s+(?:reactie|oordeel|opvatting|mening|appreciatie|visie|analyse)\s+(?:op|over|van|hierop|daarop)"
    r"|hoe\s+(?:beoordeelt|kijkt|reageert|duidt|waardeert|verklaart)\s+u(?:\s+(?:op|tegen|naar))?"
    r"|bent\s+u\s+(?:het\s+)?(?:bereid|van\s+plan|voornemens)(?:\s+om)?"
    r"|herkent\s+u\s+(?:zich\s+in\s+)?(?:het\s+beeld|de\s+signalen|de\s+zorgen|het\s+signaal)(?:\s+dat)?"
    r"|klopt\s+het(?:\s+bericht)?\s+dat"
    r"|is\s+het\s+waar\s+dat"
    r"|(?:zo|indien)\s+(?:ja|nee|niet)\b[,:]?"
    r")"
)
"""Opening forms whose subject follows them: the form goes, the subject stays."""

MIN_LEFT_WORDS = 2
"""Below this the query was all form ("Bent u bekend met het bericht?") and is kept as typed."""


def strip(query: str) -> str:
    """The query without parliamentary boilerplate; the query unchanged when little would be left."""
    text = _PHRASES.sub(" ", _SENTENCES.sub(" ", query))
    text = " ".join(text.split())
    return text if len(re.findall(r"\w{2,}", text)) >= MIN_LEFT_WORDS else query
