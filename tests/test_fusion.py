"""Fusion over the union: hand-made candidate lists."""

from archive.fusion import convex, fuse, normalise, reciprocal_rank, standardise, zscore


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


def test_zscore_gives_a_missing_side_its_floor() -> None:
    dense = {1: 0.90, 2: 0.50, 3: 0.85}
    lexical = {3: 30.0, 4: 10.0}
    z = standardise(lexical, {1, 2, 3, 4})
    assert z[1] == z[2] == z[4] < z[3]
    ranked = [pid for pid, _ in zscore(dense, lexical, 0.5)]
    assert set(ranked) == {1, 2, 3, 4}
    assert ranked[0] == 3  # strong lexically, present densely


def test_rank_fusion_ignores_score_scales() -> None:
    dense = {1: 0.90, 2: 0.85, 3: 0.80}
    lexical = {3: 12.0, 4: 9.0, 2: 1.0}
    ranked = reciprocal_rank(dense, lexical)
    scaled = reciprocal_rank({k: v * 1000 for k, v in dense.items()}, {k: v / 7 for k, v in lexical.items()})
    assert [pid for pid, _ in ranked] == [pid for pid, _ in scaled]
    assert [pid for pid, _ in ranked][:2] == [3, 2]  # on both lists beats first on one


def test_every_fusion_weighs_its_sides() -> None:
    dense = {1: 0.9, 2: 0.1}
    lexical = {1: 1.0, 2: 10.0}
    for method in (convex, zscore, reciprocal_rank):
        assert method(dense, lexical, 0.9)[0][0] == 1
        assert method(dense, lexical, 0.1)[0][0] == 2
