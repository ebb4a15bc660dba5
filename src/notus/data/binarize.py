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
from typing import Any

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
    "SCORERS",
    "aspect_ratings",
    "mean_rating",
    "overall_score",
    "binarize",
    "BinarizeStats",
    "choose",
]

# The two preset strategies by name (what `notus run` recipes validate against); every strategy,
# including `aspect:NAME` and `weighted:...`, goes through `notus.data.strategies.parse_strategy`.
SCORERS = {"notus": mean_rating, "zephyr": overall_score}


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


def to_pair(
    row: dict[str, Any], chosen: int, rejected: int, scores: list, strategy: Strategy
) -> dict[str, Any]:
    """A TRL conversational preference row with provenance columns."""
    c, r = row["completions"][chosen], row["completions"][rejected]
    prompt = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    return {
        "prompt": [*prompt, {"role": "user", "content": row["instruction"]}],
        "chosen": [{"role": "assistant", "content": c["response"]}],
        "rejected": [{"role": "assistant", "content": r["response"]}],
        "score_chosen": scores[chosen],
        "score_rejected": scores[rejected],
        "margin": scores[chosen] - scores[rejected],
        "source": row.get("source", ""),
        "strategy": strategy.name,
        "chosen_index": chosen,
        "rejected_index": rejected,
        "chosen_model": c.get("model", ""),
        "rejected_model": r.get("model", ""),
        "chosen_ratings": aspect_ratings(c),
        "rejected_ratings": aspect_ratings(r),
        "chosen_overall_score": rating(c.get("overall_score")),
        "rejected_overall_score": rating(r.get("overall_score")),
    }


def binarize(
    rows: list[dict[str, Any]],
    strategy: str | Strategy,
    seed: int = 42,
    keep_index: bool = False,
    scores: list[list[float | None]] | None = None,
    progress: bool = False,
) -> tuple[list[dict], BinarizeStats]:
    """Pairs from rated rows. With `keep_index`, each pair also gets `row_index` (its input row);
    `scores` (per row, per completion) skips scoring when the caller already has them."""
    with no_gc():
        return _binarize(rows, strategy, seed, keep_index, scores, progress)


def _binarize(rows, strategy, seed, keep_index, scores, progress) -> tuple[list[dict], BinarizeStats]:
    from tqdm import tqdm

    spec = parse_strategy(strategy) if isinstance(strategy, str) else strategy
    rng = random.Random(seed)
    stats = BinarizeStats(rows_in=len(rows))
    pairs = []
    bar = tqdm(rows, desc=f"binarize ({spec.name})", unit="row", disable=not progress or len(rows) < 10000)
    for index, row in enumerate(bar):
        row_scores = scores[index] if scores is not None else [spec.score(c) for c in row["completions"]]
        numeric = [s for s in row_scores if s is not None]
        if numeric and numeric.count(max(numeric)) > 1:
            stats.top_ties += 1
        picked = choose(row_scores, spec, rng)
        if isinstance(picked, str):
            stats.dropped[picked] += 1
            continue
        stats.rows_out += 1
        for rejected in picked[1]:
            pair = to_pair(row, picked[0], rejected, row_scores, spec)
            if keep_index:
                pair["row_index"] = index
            pairs.append(pair)
    stats.pairs_out = len(pairs)
    return pairs, stats


def score_table(rows: list[dict[str, Any]]) -> dict[str, list[list[float | None]]]:
    """Per row, per completion: the notus mean and the zephyr overall score (for reports)."""
    return {
        "notus": [[mean_rating(c) for c in row["completions"]] for row in rows],
        "zephyr": [[overall_score(c) for c in row["completions"]] for row in rows],
    }
