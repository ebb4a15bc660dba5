"""Scores of many rows at once: a (rows, completions) float matrix, NaN where there is no score.

    means = mean_matrix(rows)                 # the `notus` score of every completion of every row
    scores = score_matrix(rows, spec)         # any strategy's scores (notus/zephyr column-wise)
    row_scores = means[i, : len(rows[i]["completions"])]

Rows have different numbers of completions, so each row is padded with NaN to the longest. The
`notus` and `zephyr` scores are computed over flat columns with numpy (one pass over the ratings of
all rows); values are exactly the per-completion `mean_rating` / `overall_score` (the same float
operations), which stay the reference and the fallback for anything but canonical ratings.
NaN (a score that is not a number) counts as no score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from notus.data.strategies import Strategy, mean_rating, overall_score, rating

_RATING_NUMBERS = {str(i): float(i) for i in range(1, 6)} | {"N/A": np.nan, None: np.nan}


def completion_counts(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.fromiter((len(row["completions"]) for row in rows), dtype=np.int64, count=len(rows))


def to_matrix(flat: np.ndarray | list, counts: np.ndarray) -> np.ndarray:
    """Per-completion values (row after row) into a NaN-padded (rows, max completions) matrix."""
    out = np.full((len(counts), int(counts.max(initial=0))), np.nan)
    out[np.arange(out.shape[1]) < counts[:, None]] = np.asarray(flat, dtype=float)  # None -> NaN
    return out


def _completions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for row in rows for c in row["completions"]]


def mean_matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    """`mean_rating` of every completion: N/A ratings left out, no rated aspect -> NaN."""
    counts = completion_counts(rows)
    comps = _completions(rows)
    try:  # canonical "1".."5" / "N/A" ratings (every validated row): one flat column
        per = np.fromiter((len(c["annotations"]) for c in comps), dtype=np.int64, count=len(comps))
        values = np.array([_RATING_NUMBERS[v["Rating"]] for c in comps for v in c["annotations"].values()])
    except (KeyError, TypeError, AttributeError):
        return to_matrix([mean_rating(c) for c in comps], counts)
    owner = np.repeat(np.arange(len(comps)), per)
    rated = ~np.isnan(values)
    total = np.bincount(owner, weights=np.where(rated, values, 0.0), minlength=len(comps))
    n = np.bincount(owner, weights=rated, minlength=len(comps))
    with np.errstate(invalid="ignore", divide="ignore"):
        return to_matrix(np.where(n > 0, total / n, np.nan), counts)


def overall_matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    """`overall_score` (the critique's 1-10) of every completion; missing -> NaN."""
    values = [c.get("overall_score") for c in _completions(rows)]
    try:
        flat = np.array(values, dtype=float)  # numbers and None (every validated row)
    except (TypeError, ValueError):
        flat = np.array([rating(v) for v in values], dtype=float)
    return to_matrix(flat, completion_counts(rows))


def score_matrix(rows: list[dict[str, Any]], strategy: Strategy) -> np.ndarray:
    """The strategy's score of every completion (column-wise for notus and zephyr)."""
    if strategy.score is mean_rating:
        return mean_matrix(rows)
    if strategy.score is overall_score:
        return overall_matrix(rows)
    return to_matrix([strategy.score(c) for c in _completions(rows)], completion_counts(rows))
