"""Scores of many rows at once: a (rows, completions) float matrix, NaN where there is no score.

    means = mean_matrix(rows)                 # the `notus` score of every completion of every row
    scores = score_matrix(rows, spec)         # any strategy's scores (notus/zephyr column-wise)
    flagged = score_bug_rows(rows)            # per row: the overall_score bug signature
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

from notus.data.columns import RatedColumns, to_matrix
from notus.data.strategies import Strategy, mean_rating, overall_score, rating


def completion_counts(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.fromiter((len(row["completions"]) for row in rows), dtype=np.int64, count=len(rows))


def _completions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for row in rows for c in row["completions"]]


def _columns(rows: list[dict[str, Any]], cols: RatedColumns | None) -> RatedColumns:
    return cols if cols is not None else RatedColumns.of([row["completions"] for row in rows], strict=False)


def mean_matrix(rows: list[dict[str, Any]], cols: RatedColumns | None = None) -> np.ndarray:
    """`mean_rating` of every completion: N/A ratings left out, no rated aspect -> NaN. Canonical
    "1".."5" / "N/A" ratings (every validated row) are averaged over the flat rating column."""
    try:
        return _columns(rows, cols).mean_matrix()
    except (KeyError, TypeError):  # other spellings, or shapes the columns cannot hold
        return to_matrix([mean_rating(c) for c in _completions(rows)], completion_counts(rows))


def overall_matrix(rows: list[dict[str, Any]], cols: RatedColumns | None = None) -> np.ndarray:
    """`overall_score` (the critique's 1-10) of every completion; missing -> NaN."""
    try:
        return _columns(rows, cols).overall_matrix()  # numbers and None (every validated row)
    except (TypeError, ValueError):
        flat = [rating(c.get("overall_score")) for c in _completions(rows)]
        return to_matrix(np.array(flat, dtype=float), completion_counts(rows))


def score_matrix(
    rows: list[dict[str, Any]], strategy: Strategy, cols: RatedColumns | None = None
) -> np.ndarray:
    """The strategy's score of every completion (column-wise for notus and zephyr); `cols`: the
    rows' columns when the caller has them."""
    if strategy.score is mean_rating:
        return mean_matrix(rows, cols)
    if strategy.score is overall_score:
        return overall_matrix(rows, cols)
    return to_matrix([strategy.score(c) for c in _completions(rows)], completion_counts(rows))


def score_bug_rows(
    rows: list[dict[str, Any]],
    cols: RatedColumns | None = None,
    means: np.ndarray | None = None,
    gap: float = 2.5,
) -> np.ndarray:
    """Per row: does a completion carry the overall_score bug signature (`filters.contradicts`:
    |overall_score / 2 - aspect mean| >= gap)? `means`: the rows' `mean_matrix` when known."""
    means = mean_matrix(rows, cols) if means is None else means
    with np.errstate(invalid="ignore"):
        return (np.abs(overall_matrix(rows, cols) / 2 - means) >= gap).any(axis=1)
