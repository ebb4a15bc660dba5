"""Pure statistics for small evaluation sets: intervals that stay honest at n = 13, paired tests.

    wilson(13, 13)                          # (0.7719..., 1.0): a Wald interval would be [1, 1]
    paired_test([[1, 1, 0]], [[0, 1, 0]])   # exact sign test on the pairs where the two models differ
    spread([0.6, 0.7, 0.65])                # mean, sample standard deviation, min, max over seeds

The binomial work is scipy's (`binomtest`), not a hand-written formula.
"""

from __future__ import annotations

import statistics
from typing import Any

from scipy.stats import binomtest

CONFIDENCE = 0.95


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials ((0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def paired_test(a: list[list[int]], b: list[list[int]]) -> dict[str, Any]:
    """Two models (or strategies) scored right/wrong on the SAME items, one list per seed each.

    Each item's score is its mean over seeds; items where A and B differ are discordant, and an exact
    two-sided sign test asks whether A wins them more often than chance (with one seed this is the
    exact McNemar test)."""
    if not a or len(a) != len(b) or any(len(x) != len(a[0]) for x in a + b):
        raise ValueError("paired_test needs the same items, and the same number of seeds, for both sides")
    n = len(a[0])
    mean_a = [sum(run[i] for run in a) / len(a) for i in range(n)]
    mean_b = [sum(run[i] for run in b) / len(b) for i in range(n)]
    a_better = sum(x > y for x, y in zip(mean_a, mean_b))
    b_better = sum(y > x for x, y in zip(mean_a, mean_b))
    discordant = a_better + b_better
    p = binomtest(a_better, discordant).pvalue if discordant else 1.0
    return {
        "test": "exact sign test (McNemar with one seed)" if len(a) == 1 else "exact sign test on seed means",
        "items": n,
        "seeds": len(a),
        "a_better": a_better,
        "b_better": b_better,
        "ties": n - discordant,
        "p_value": float(p),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value), min and max."""
    if not values:
        raise ValueError("spread of no values")
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {
        "mean": statistics.fmean(values),
        "sd": sd,
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }
