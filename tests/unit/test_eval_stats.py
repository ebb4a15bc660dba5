"""The statistics of `notus run`: Wilson intervals that stay honest at small n, the paired sign test,
and the spread over seeds (values checked against hand computations)."""

import math

import pytest

from notus.eval.stats import paired_test, spread, wilson


def test_wilson_is_not_zero_width_at_13_of_13():
    low, high = wilson(13, 13)
    assert high == 1.0 and abs(low - 0.7719) < 1e-3  # Wald would say [1, 1]
    low, high = wilson(5, 10)
    z = 1.959964
    centre, half = (
        (0.5 + z * z / 20) / (1 + z * z / 10),
        z / (1 + z * z / 10) * math.sqrt(0.25 / 10 + z * z / 400),
    )
    assert abs(low - (centre - half)) < 1e-6 and abs(high - (centre + half)) < 1e-6
    assert wilson(0, 0) == (0.0, 1.0)


def test_paired_test_is_exact_mcnemar_with_one_seed():
    a = [[1, 1, 1, 1, 1, 1, 0, 0]]
    b = [[0, 0, 0, 0, 0, 0, 0, 0]]
    r = paired_test(a, b)
    assert (r["a_better"], r["b_better"], r["ties"]) == (6, 0, 2)
    assert abs(r["p_value"] - 2 * 0.5**6) < 1e-12  # two-sided exact binomial on 6 discordant pairs
    assert paired_test(b, b)["p_value"] == 1.0


def test_paired_test_uses_seed_means():
    a = [[1, 0], [1, 1], [1, 0]]  # item means 1, 1/3
    b = [[0, 0], [1, 0], [0, 1]]  # item means 1/3, 1/3
    r = paired_test(a, b)
    assert (r["a_better"], r["b_better"], r["ties"], r["seeds"]) == (1, 0, 1, 3)
    with pytest.raises(ValueError):
        paired_test(a, b[:2])


def test_spread():
    s = spread([0.5, 0.7, 0.6])
    assert abs(s["mean"] - 0.6) < 1e-12 and abs(s["sd"] - 0.1) < 1e-12 and (s["min"], s["max"]) == (0.5, 0.7)
    assert spread([0.4])["sd"] == 0.0
