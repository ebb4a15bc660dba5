"""Binarization strategies on the hand-designed raw fixture: expected pairs computed by hand.

Fixture table (tests/fixtures/data/make_fixtures.py), completions 0-3, notus = mean of non-N/A aspects,
zephyr = overall_score:
  row 1: notus 5, 3, 1.5, 4          zephyr 9, 6, 3, 8
  row 2: notus 1.25, 4.75, 3, 2      zephyr 10, 8, 5, 4       (completion 0 has the overall_score bug)
  row 3: notus -, 13/3, 2, 13/3      zephyr 7, 7, 7, 6
  row 4: notus 4, 4, 4, 4            zephyr 8, 7, 8, 6
  row 5: notus 3, -, -, 4.25         zephyr -, 5, -, 9
  row 6: notus 2, -, -, -            zephyr 4, 6, -, -
"""

from pathlib import Path

import pytest

from notus.core.errors import NotusError
from notus.core.runs import read_jsonl
from notus.data.binarize import binarize
from notus.data.filters import score_bug_completions
from notus.data.strategies import parse_strategy

FIXTURE = Path(__file__).parents[1] / "fixtures" / "data" / "raw_hand.jsonl"


@pytest.fixture()
def rows():
    return read_jsonl(FIXTURE)


def _pairs(rows, strategy, **kw):
    pairs, stats = binarize(rows, parse_strategy(strategy, **kw), seed=0, keep_index=True)
    return [(p["row_index"] + 1, p["chosen_index"], p["rejected_index"]) for p in pairs], stats


def test_notus_all_lower(rows):
    pairs, stats = _pairs(rows, "notus", rejected="all")
    assert pairs == [(1, 0, 1), (1, 0, 2), (1, 0, 3), (2, 1, 0), (2, 1, 2), (2, 1, 3), (3, 1, 2), (5, 3, 0)]
    assert stats.dropped == {"all completions tied": 1, "fewer than two rated completions": 1}
    assert stats.top_ties == 2  # rows 3 and 4


def test_zephyr_all_others(rows):
    pairs, stats = _pairs(rows, "zephyr", rejected="all")
    expected = (
        [(1, 0, r) for r in (1, 2, 3)] + [(2, 0, r) for r in (1, 2, 3)] + [(3, 0, r) for r in (1, 2, 3)]
    )
    expected += [(4, 0, r) for r in (1, 2, 3)] + [(5, 3, 1), (6, 1, 0)]
    assert pairs == expected
    assert stats.dropped == {}


def test_lowest(rows):
    assert _pairs(rows, "notus", rejected="lowest")[0] == [(1, 0, 2), (2, 1, 0), (3, 1, 2), (5, 3, 0)]
    assert _pairs(rows, "zephyr", rejected="lowest")[0] == [
        (1, 0, 2),
        (2, 0, 3),
        (3, 0, 3),
        (4, 0, 3),
        (5, 3, 1),
        (6, 1, 0),
    ]


def test_random_rejected_is_within_the_hand_computed_candidates(rows):
    candidates = {1: {1, 2, 3}, 2: {0, 2, 3}, 3: {2}, 5: {0}}
    for seed in range(5):
        pairs, _ = binarize(rows, "notus", seed=seed, keep_index=True)
        assert [(p["row_index"] + 1, p["chosen_index"]) for p in pairs] == [(1, 0), (2, 1), (3, 1), (5, 3)]
        assert all(p["rejected_index"] in candidates[p["row_index"] + 1] for p in pairs)
    pairs, _ = binarize(rows, "zephyr", seed=3)
    assert [p["chosen_index"] for p in pairs] == [0, 0, 0, 0, 3, 1]
    assert binarize(rows, "zephyr", seed=3)[0] == pairs  # the seed fixes the random picks


def test_pair_columns(rows):
    pairs, _ = binarize(rows, "notus", seed=0)
    p = pairs[0]
    assert p["prompt"] == [{"role": "user", "content": "Row 1: clear winner"}]
    assert p["chosen"] == [{"role": "assistant", "content": "Response 1 by model-a."}]
    assert p["score_chosen"] == 5.0 and p["chosen_model"] == "model-a" and p["strategy"] == "notus"
    assert p["margin"] == p["score_chosen"] - p["score_rejected"]
    assert p["chosen_ratings"]["honesty"] == 5.0
    assert pairs[2]["score_chosen"] == pytest.approx(13 / 3)


def test_margin_tie_policy_aspect_and_weighted(rows):
    assert _pairs(rows, "notus", rejected="all", min_margin=1.5)[0] == [
        (1, 0, 1),
        (1, 0, 2),
        (2, 1, 0),
        (2, 1, 2),
        (2, 1, 3),
        (3, 1, 2),
    ]
    # top_tie=drop removes row 3 (B and D tie at 13/3); row 4 is all tied anyway
    assert [r for r, _, _ in _pairs(rows, "notus", top_tie="drop")[0]] == [1, 2, 5]
    # honesty only: row 1 -> A(5) vs lowest C(2); row 3: honesty A N/A, B N/A, C 2, D 5 -> D over C
    assert _pairs(rows, "aspect:honesty", rejected="lowest")[0][:3] == [(1, 0, 2), (2, 1, 0), (3, 3, 2)]
    # helpfulness weighted 3x: row 3: B (4*1 + 5*3)/4 = 4.75 > D (5 + 3*3)/4 = 3.5
    weighted = _pairs(rows, "weighted:helpfulness=3,instruction_following=1", rejected="lowest")[0]
    assert weighted[2] == (3, 1, 2)
    # zephyr keeps equal-score rejected by default; allow_equal=False removes them
    assert (3, 0, 1) not in _pairs(rows, "zephyr", rejected="all", allow_equal=False)[0]


def test_unknown_strategy_lists_choices():
    with pytest.raises(NotusError, match="aspect, notus, weighted, zephyr"):
        parse_strategy("mean")
    with pytest.raises(NotusError, match="rejected policy"):
        parse_strategy("notus", rejected="worst")


def test_score_bug_flags_the_contradicting_completion(rows):
    assert [score_bug_completions(r["completions"]) for r in rows] == [[], [0], [], [], [], []]
    pairs, _ = binarize(rows, "zephyr", seed=0, keep_index=True)
    assert pairs and all(p["score_bug"] == (p["row_index"] == 1) for p in pairs)  # binarize() flags too
