"""Fusing dense and lexical candidates over their union.

Plain reciprocal-rank fusion throws the score gaps away and hurt paraphrase queries here; instead
each side's scores are min-max normalised over the union of candidates (a passage missing from
one side's list scores that side's minimum) and mixed with a weight chosen on the dev queries.
"""

from __future__ import annotations

from collections.abc import Mapping

DENSE_WEIGHT = 0.9
"""Share of the dense score in the hybrid score, chosen on eval/dev_queries.jsonl with
`bench/tuning.py weights` on the whole shared corpus (111 judged queries): MRR@10 0.947 / 0.954 /
0.949 / 0.950 / 0.958 / 0.952 at weights 0.6 / 0.7 / 0.8 / 0.85 / 0.9 / 0.95. At 0.9 hybrid beats
dense alone on paraphrase questions by the widest margin (0.907 against 0.875) and keeps Recall@10
at 0.984 against 0.889 dense and 0.908 lexical; lexical still decides between near-equal dense
scores, and exact identifiers are found before fusion."""


def normalise(scores: Mapping[int, float], keys: set[int]) -> dict[int, float]:
    """Min-max normalise to [0, 1] over `keys`; a key without a score gets 0."""
    if not scores:
        return {key: 0.0 for key in keys}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: ((scores[key] - low) / span if span > 0 else 1.0) if key in scores else 0.0 for key in keys}


def fuse(dense: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float = DENSE_WEIGHT) -> list[tuple[int, float]]:
    """Rank the union of both candidate lists by the weighted sum of normalised scores."""
    keys = set(dense) | set(lexical)
    d, l = normalise(dense, keys), normalise(lexical, keys)
    fused = {key: dense_weight * d[key] + (1 - dense_weight) * l[key] for key in keys}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
