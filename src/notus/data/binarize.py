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
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from notus.data.columns import RatedColumns
from notus.data.filters import score_bug
from notus.data.readers import Record
from notus.data.strategies import ASPECTS, Strategy, parse_strategy

__all__ = ["ASPECTS", "binarize", "BinarizeStats", "pick"]

# Strategies by name: the one registry is `notus.data.strategies.SCORERS` (notus, zephyr, aspect:NAME,
# weighted:...); every strategy goes through `notus.data.strategies.parse_strategy`.
NO_PAIR = {  # why a row yields no pair, by code
    1: "fewer than two rated completions",
    2: "tie for the best score",
    3: "all completions tied",
    4: "no completion below the margin {margin:g}",
}


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
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"dropped": dict(self.dropped)}

    def add(self, other: BinarizeStats) -> None:
        for f in fields(self):  # numbers add up, and so do the Counters of dropped rows
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


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


def _nth_true(mask: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per row of `mask`: the column of its n-th (0-based) True value."""
    return np.argmax(np.cumsum(mask, axis=1) == (n + 1)[:, None], axis=1)


def pick(scores: np.ndarray, strategy: Strategy, rng: random.Random) -> Picks:
    """Chosen and rejected completions of every row of a NaN-padded (rows, completions) score matrix.

    Per row: the rated completions (NaN: no score); fewer than two -> no pair. The chosen one has the
    best score; a tie at the top goes to the first (`top_tie="first"`), a random one ("random") or
    drops the row ("drop"). Candidates for rejected: every other rated completion whose score is at
    least `min_margin` below the best, and strictly below it unless `allow_equal`. None -> no pair
    ("all completions tied" when every rated completion ties at the top). Rejected: a random
    candidate, the lowest (the first of equals) or all of them. Random draws come from `rng` row
    after row (first the top tie, then the candidate), so the same seed gives the same pairs."""
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
    n_top_draw, n_cand_draw = np.where(draw_top, n_top, 0), np.where(draw_cand, n_cand, 0)
    top_draw, cand_draw = np.zeros(len(scores), dtype=np.int64), np.zeros(len(scores), dtype=np.int64)
    for i in np.flatnonzero(draw_top | draw_cand).tolist():  # `randrange(n)` draws what `choice` would
        top_draw[i] = rng.randrange(n_top_draw[i]) if n_top_draw[i] else 0
        cand_draw[i] = rng.randrange(n_cand_draw[i]) if n_cand_draw[i] else 0
    chosen = np.where(draw_top, _nth_true(top, top_draw), chosen)
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
            rejected = _nth_true(cand, cand_draw)[pair_rows]
    codes, earliest, counts = np.unique(reason, return_index=True, return_counts=True)
    dropped = Counter(
        {
            NO_PAIR[c].format(margin=strategy.min_margin): int(n)
            for _, c, n in sorted(zip(earliest, codes.tolist(), counts))
            if c
        }
    )
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
    offsets: np.ndarray,
    flagged: np.ndarray,
) -> list[dict[str, Any]]:
    """A TRL conversational preference row (`prompt`, `chosen`, `rejected` message lists) with
    provenance columns for every pick. The completions of `rows[i]` start at `offsets[i]` in the
    flat columns `cols`; `flagged`: per row, the overall_score bug flag."""
    base = offsets[picks.row]
    chosen_k, rejected_k = base + picks.chosen, base + picks.rejected  # in the flat columns
    chosen, rejected = chosen_k.tolist(), rejected_k.tolist()
    c_score, r_score = scores[picks.row, picks.chosen], scores[picks.row, picks.rejected]
    overall = cols.overall.tolist()
    name = spec.name
    with no_gc():  # many small dicts, no cycles: the collector would only walk them
        return [
            {
                "prompt": [{"role": "user", "content": row["instruction"]}]
                if not row.get("system")
                else [
                    {"role": "system", "content": row["system"]},
                    {"role": "user", "content": row["instruction"]},
                ],
                "chosen": [{"role": "assistant", "content": cols.responses[c]}],
                "rejected": [{"role": "assistant", "content": cols.responses[r]}],
                "score_chosen": cs,
                "score_rejected": rs,
                "margin": margin,
                "source": row.get("source", ""),
                "strategy": name,
                "chosen_index": ci,
                "rejected_index": ri,
                "chosen_model": cols.models[c],
                "rejected_model": cols.models[r],
                "chosen_ratings": c_ratings,
                "rejected_ratings": r_ratings,
                "chosen_overall_score": None if overall[c] != overall[c] else overall[c],
                "rejected_overall_score": None if overall[r] != overall[r] else overall[r],
                "score_bug": bug,
            }
            for row, c, r, cs, rs, margin, ci, ri, c_ratings, r_ratings, bug in zip(
                [rows[i] for i in picks.row.tolist()],
                chosen,
                rejected,
                c_score.tolist(),
                r_score.tolist(),
                (c_score - r_score).tolist(),
                picks.chosen.tolist(),
                picks.rejected.tolist(),
                cols.aspect_ratings(chosen_k),
                cols.aspect_ratings(rejected_k),
                flagged[picks.row].tolist(),
            )
        ]


def binarize(
    rows: list[dict[str, Any]], strategy: str | Strategy, seed: int = 42, keep_index: bool = False
) -> tuple[list[dict], BinarizeStats]:
    """Pairs from rated rows, each flagged with its row's `score_bug` (gap 2.5). Rows are validated
    first (`notus.data.validate`): repaired where a rule allows; a row that cannot be repaired makes
    no pair and is counted under "invalid row". With `keep_index`, each pair also gets `row_index`
    (its input row)."""
    from notus.data.validate import validate_rated

    spec = parse_strategy(strategy) if isinstance(strategy, str) else strategy
    with no_gc():
        kept, rejects, _, cols = validate_rated([Record(row, "<rows>", i) for i, row in enumerate(rows)])
        valid = [rec.row for rec in kept]
        scores = cols.matrix(spec.score(cols))
        picks = pick(scores, spec, random.Random(seed))
        flagged = cols.matrix(score_bug(cols)) == 1  # NaN padding is not a flag
        pairs = make_pairs(valid, picks, scores, spec, cols, cols.starts(), flagged.any(axis=1))
    stats = BinarizeStats(len(rows), len(picks.row), picks.rows_out, picks.dropped, picks.top_ties)
    if rejects:
        stats.dropped["invalid row (see notus data validate)"] += len(rejects)
    if keep_index:
        for pair, index in zip(pairs, picks.row.tolist()):
            pair["row_index"] = kept[index].line
    return pairs, stats
