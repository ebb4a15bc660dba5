"""Binarize rated rows (raw UltraFeedback schema: prompt + rated completions) into DPO pairs.

    pairs, stats = binarize(rows, strategy="notus", seed=42)
    pairs, stats = binarize(rows, parse_strategy("aspect:honesty", rejected="all", min_margin=1), seed=0)
    notus data binarize INPUT --strategy notus -o pairs.jsonl     # the CLI over the same function

Defaults reproduce the two recipes the Notus experiment compares:
- `zephyr`: chosen = highest critique `overall_score`; rejected = a random other completion, equal
  scores allowed (HuggingFaceH4/ultrafeedback_binarized kept such ties);
- `notus`: chosen = highest mean of the aspect ratings; rejected = a random completion with a
  strictly lower mean; a row where every completion ties is dropped (argilla's recipe).
Ties at the top go to the first completion unless `top_tie` says `random` or `drop`. A pair whose
margin is below `min_margin` is not made. The N/A rule is in `notus.data.strategies`.
"""

from __future__ import annotations

import gc
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from notus.data.columns import RatedColumns
from notus.data.scores import score_bug_rows, score_matrix, to_matrix
from notus.data.strategies import (
    ASPECTS,
    Strategy,
    aspect_ratings,
    mean_rating,
    overall_score,
    parse_strategy,
    rating,
)

__all__ = [
    "ASPECTS",
    "aspect_ratings",
    "mean_rating",
    "overall_score",
    "binarize",
    "BinarizeStats",
    "choose",
]

# Strategies by name: the one registry is `notus.data.strategies.SCORERS` (notus, zephyr, aspect:NAME,
# weighted:...); every strategy goes through `notus.data.strategies.parse_strategy`.


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building many small dicts without reference cycles
    otherwise triggers full collections that cost more than the work (2x at 64k rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class BinarizeStats:
    rows_in: int = 0
    pairs_out: int = 0
    rows_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    top_ties: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "pairs_out": self.pairs_out,
            "dropped": dict(self.dropped),
            "top_ties": self.top_ties,
        }


def choose(scores: list[float | None], strategy: Strategy, rng: random.Random) -> tuple[int, list[int]] | str:
    """(chosen index, rejected indices) for one row's scores, or the reason it yields no pair."""
    rated = [(i, s) for i, s in enumerate(scores) if s is not None]
    if len(rated) < 2:
        return "fewer than two rated completions"
    best = max(s for _, s in rated)
    top = [i for i, s in rated if s == best]
    if len(top) > 1 and strategy.top_tie == "drop":
        return "tie for the best score"
    chosen = rng.choice(top) if len(top) > 1 and strategy.top_tie == "random" else top[0]
    if strategy.allow_equal:
        candidates = [i for i, s in rated if i != chosen and best - s >= strategy.min_margin]
    else:
        candidates = [i for i, s in rated if s < best and best - s >= strategy.min_margin]
    if not candidates:
        if len(top) == len(rated):
            return "all completions tied"
        return f"no completion below the margin {strategy.min_margin:g}"
    if strategy.rejected == "all":
        return chosen, candidates
    if strategy.rejected == "lowest":
        low = min(scores[i] for i in candidates)  # type: ignore[type-var]
        return chosen, [next(i for i in candidates if scores[i] == low)]
    return chosen, [rng.choice(candidates)]


@dataclass
class Picks:
    """The pairs picked from a score matrix, in row order: pair p is row `row[p]`, completions
    `chosen[p]` over `rejected[p]`; `dropped` counts the rows without a pair by reason."""

    row: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    dropped: Counter
    rows_out: int
    top_ties: int


def _kth(mask: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Column of the k-th (0-based) True value of each row of `mask`."""
    return np.argmax(np.cumsum(mask, axis=1) == (k + 1)[:, None], axis=1)


def _draws(rng: random.Random, sizes: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """`rng.choice` among the top ties and then among the candidates, row after row, exactly as
    `choose` draws them (a size of 0 means no draw; `randrange(n)` draws what `choice(range(n))`
    draws, without building the range)."""
    tops, rejects = [], []
    for n_top, n_cand in sizes:
        tops.append(rng.randrange(n_top) if n_top else 0)
        rejects.append(rng.randrange(n_cand) if n_cand else 0)
    return tops, rejects


def pick(scores: np.ndarray, strategy: Strategy, rng: random.Random) -> Picks:
    """`choose` for every row of a NaN-padded (rows, completions) score matrix at once: the same
    pairs, reasons and random draws, computed over the columns with numpy."""
    if scores.shape[1] == 0:
        scores = np.full((len(scores), 1), np.nan)
    rows, cols = np.arange(len(scores)), np.arange(scores.shape[1])
    rated = ~np.isnan(scores)
    n_rated = rated.sum(axis=1)
    best = np.where(rated, scores, -np.inf).max(axis=1)[:, None]
    top = rated & (scores == best)
    n_top = top.sum(axis=1)
    with np.errstate(invalid="ignore"):
        in_margin = rated & (best - scores >= strategy.min_margin)
    chosen = np.argmax(top, axis=1)
    if strategy.allow_equal:  # every other completion within the margin; a top one never rejects itself
        n_cand = in_margin.sum(axis=1) - in_margin[rows, chosen]
    else:
        n_cand = (in_margin & (scores < best)).sum(axis=1)
    reason = np.select(
        [
            n_rated < 2,
            (n_top > 1) & (strategy.top_tie == "drop"),
            (n_cand == 0) & (n_top == n_rated),
            n_cand == 0,
        ],
        [1, 2, 3, 4],
        0,
    )
    ok = reason == 0
    draw_top = ((reason == 0) | (reason >= 3)) & (n_top > 1) & (strategy.top_tie == "random")
    draw_cand = ok & (strategy.rejected == "random")
    need = np.flatnonzero(draw_top | draw_cand)
    k_top, k_cand = np.zeros(len(scores), dtype=np.int64), np.zeros(len(scores), dtype=np.int64)
    k_top[need], k_cand[need] = _draws(
        rng,
        list(zip(np.where(draw_top, n_top, 0)[need].tolist(), np.where(draw_cand, n_cand, 0)[need].tolist())),
    )
    chosen = np.where(draw_top, _kth(top, k_top), chosen)
    if strategy.allow_equal:
        cand = in_margin & (cols != chosen[:, None])
    else:
        cand = in_margin & (scores < best)
    if strategy.rejected == "all":
        pair_rows, rejected = np.nonzero(cand & ok[:, None])
    else:
        pair_rows = np.flatnonzero(ok)
        if strategy.rejected == "lowest":
            low = np.where(cand, scores, np.inf).min(axis=1)[:, None]
            rejected = np.argmax(cand & (scores == low), axis=1)[pair_rows]
        else:
            rejected = _kth(cand, k_cand)[pair_rows]
    names = {
        1: "fewer than two rated completions",
        2: "tie for the best score",
        3: "all completions tied",
        4: f"no completion below the margin {strategy.min_margin:g}",
    }
    codes, first, counts = np.unique(reason, return_index=True, return_counts=True)
    dropped = Counter({names[c]: int(n) for _, c, n in sorted(zip(first, codes.tolist(), counts)) if c})
    return Picks(
        pair_rows,
        chosen[pair_rows],
        rejected,
        dropped,
        int(ok.sum()),
        int(((n_rated > 0) & (n_top > 1)).sum()),
    )


def make_pairs(
    rows: list[dict[str, Any]],
    picks: Picks,
    scores: np.ndarray,
    spec: Strategy,
    cols: RatedColumns,
    first: np.ndarray,
    score_bug: np.ndarray,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """A TRL conversational preference row (`prompt`, `chosen`, `rejected` message lists) with
    provenance columns for every pick. `cols` holds every completion, row after row, and the
    completions of `rows[i]` start at `first[i]` in it: the pairs read the columns, not the
    completions. `score_bug`: per row, the overall_score bug flag (`scores.score_bug_rows`)."""
    from tqdm import tqdm

    at = first[picks.row]
    chosen_at, rejected_at = at + picks.chosen, at + picks.rejected  # in the flat columns
    chosen, rejected = chosen_at.tolist(), rejected_at.tolist()
    c_score, r_score = scores[picks.row, picks.chosen], scores[picks.row, picks.rejected]
    overall = [cols.overall[k] for k in chosen], [cols.overall[k] for k in rejected]
    if not set(map(type, chain(*overall))) <= {float, type(None)}:  # ints or text: as numbers
        overall = [rating(x) for x in overall[0]], [rating(x) for x in overall[1]]
    columns = zip(
        [rows[i] for i in picks.row.tolist()],
        [cols.responses[k] for k in chosen],
        [cols.responses[k] for k in rejected],
        c_score.tolist(),
        r_score.tolist(),
        (c_score - r_score).tolist(),
        picks.chosen.tolist(),
        picks.rejected.tolist(),
        [cols.models[k] for k in chosen],
        [cols.models[k] for k in rejected],
        cols.aspect_ratings(chosen_at),
        cols.aspect_ratings(rejected_at),
        *overall,
        score_bug[picks.row].tolist(),
    )
    bar = tqdm(
        columns,
        total=len(picks.row),
        desc=f"binarize ({spec.name})",
        unit="pair",
        disable=not progress or len(picks.row) < 10000,
    )
    name = spec.name
    with no_gc():  # many small dicts, no cycles: the collector would only walk them
        pairs = [
            {
                "prompt": [{"role": "user", "content": row["instruction"]}]
                if not row.get("system")
                else [
                    {"role": "system", "content": row["system"]},
                    {"role": "user", "content": row["instruction"]},
                ],
                "chosen": [{"role": "assistant", "content": c_text}],
                "rejected": [{"role": "assistant", "content": r_text}],
                "score_chosen": c_score,
                "score_rejected": r_score,
                "margin": margin,
                "source": row.get("source", ""),
                "strategy": name,
                "chosen_index": c_index,
                "rejected_index": r_index,
                "chosen_model": c_model,
                "rejected_model": r_model,
                "chosen_ratings": c_ratings,
                "rejected_ratings": r_ratings,
                "chosen_overall_score": c_overall,
                "rejected_overall_score": r_overall,
                "score_bug": flagged,
            }
            for (
                row,
                c_text,
                r_text,
                c_score,
                r_score,
                margin,
                c_index,
                r_index,
                c_model,
                r_model,
                c_ratings,
                r_ratings,
                c_overall,
                r_overall,
                flagged,
            ) in bar
        ]
    return pairs


def binarize(
    rows: list[dict[str, Any]],
    strategy: str | Strategy,
    seed: int = 42,
    keep_index: bool = False,
    scores: np.ndarray | list[list[float | None]] | None = None,
    progress: bool = False,
) -> tuple[list[dict], BinarizeStats]:
    """Pairs from rated rows, each flagged with its row's `score_bug` (gap 2.5). With `keep_index`,
    each pair also gets `row_index` (its input row); `scores` (per row, per completion: a NaN-padded
    matrix or lists) skips scoring when the caller already has them."""
    spec = parse_strategy(strategy) if isinstance(strategy, str) else strategy
    with no_gc():
        cols = RatedColumns.of([row["completions"] for row in rows], strict=False)
        means = None
        if scores is None:
            scores = score_matrix(rows, spec, cols)
            means = scores if spec.score is mean_rating else None
        elif not isinstance(scores, np.ndarray):
            scores = to_matrix(
                [s for row in scores for s in row], np.array([len(row) for row in scores], dtype=np.int64)
            )
        picks = pick(scores, spec, random.Random(seed))
        bug = score_bug_rows(rows, cols, means)
        pairs = make_pairs(rows, picks, scores, spec, cols, cols.starts(), bug, progress)
    stats = BinarizeStats(len(rows), len(picks.row), picks.rows_out, picks.dropped, picks.top_ties)
    if keep_index:
        for pair, index in zip(pairs, picks.row.tolist()):
            pair["row_index"] = index
    return pairs, stats


def score_table(rows: list[dict[str, Any]]) -> dict[str, list[list[float | None]]]:
    """Per row, per completion: the notus mean and the zephyr overall score (for reports)."""
    return {
        "notus": [[mean_rating(c) for c in row["completions"]] for row in rows],
        "zephyr": [[overall_score(c) for c in row["completions"]] for row in rows],
    }
