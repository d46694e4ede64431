"""Fusion over the union: hand-made candidate lists."""

from archive.fusion import fuse, normalise


def test_union_is_ranked_and_both_sides_count() -> None:
    dense = {1: 0.90, 2: 0.85, 3: 0.80}
    lexical = {3: 12.0, 4: 9.0}
    ranked = [pid for pid, _ in fuse(dense, lexical, dense_weight=0.5)]
    assert set(ranked) == {1, 2, 3, 4}
    assert ranked[0] in (1, 3)
    assert ranked.index(3) < ranked.index(2)  # strong on both sides beats one side alone


def test_weight_moves_the_order() -> None:
    dense = {1: 0.9, 2: 0.1}
    lexical = {1: 1.0, 2: 10.0}
    assert fuse(dense, lexical, dense_weight=0.9)[0][0] == 1
    assert fuse(dense, lexical, dense_weight=0.1)[0][0] == 2


def test_normalise_handles_missing_and_flat_scores() -> None:
    assert normalise({}, {1, 2}) == {1: 0.0, 2: 0.0}
    assert normalise({1: 3.0}, {1, 2}) == {1: 1.0, 2: 0.0}
    assert normalise({1: 1.0, 2: 3.0}, {1, 2}) == {1: 0.0, 2: 1.0}
