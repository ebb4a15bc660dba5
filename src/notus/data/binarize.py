"""Binarize raw UltraFeedback rows (prompt + 4 rated completions) into DPO preference pairs.

    pairs, stats = binarize(rows, strategy="notus", seed=42)

Strategies (the two the Notus experiment compares):
- `zephyr`: chosen = highest critique `overall_score`; rejected = a random other completion
  (as in HuggingFaceH4/ultrafeedback_binarized, which keeps ties between chosen and rejected).
- `notus`: chosen = highest mean of the four aspect ratings; rejected = a random completion with a
  strictly lower mean; a row with no lower completion (all tied) is dropped (argilla/ultrafeedback-
  binarized-preferences). Ties at the top go to the first completion, as in Argilla's recipe.

N/A rule: an "N/A" aspect rating is left out of the mean; a completion whose four ratings are all
N/A has no mean and can be neither chosen nor rejected.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")


def aspect_ratings(completion: dict[str, Any]) -> dict[str, float | None]:
    """The four aspect ratings of one completion as numbers; None for "N/A" or missing."""
    out: dict[str, float | None] = {}
    annotations = completion.get("annotations") or {}
    for aspect in ASPECTS:
        raw = (annotations.get(aspect) or {}).get("Rating")
        try:
            out[aspect] = float(raw)
        except (TypeError, ValueError):
            out[aspect] = None
    return out


def mean_rating(completion: dict[str, Any]) -> float | None:
    values = [v for v in aspect_ratings(completion).values() if v is not None]
    return sum(values) / len(values) if values else None


def overall_score(completion: dict[str, Any]) -> float | None:
    try:
        return float(completion.get("overall_score"))
    except (TypeError, ValueError):
        return None


SCORERS = {"notus": mean_rating, "zephyr": overall_score}


@dataclass
class BinarizeStats:
    rows_in: int = 0
    pairs_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    top_ties: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "pairs_out": self.pairs_out,
            "dropped": dict(self.dropped),
            "top_ties": self.top_ties,
        }


def choose(row: dict[str, Any], strategy: str, rng: random.Random) -> tuple[int, int] | str:
    """Indices (chosen, rejected) for one row, or the reason it yields no pair."""
    scorer = SCORERS[strategy]
    scores = [scorer(c) for c in row["completions"]]
    rated = [(i, s) for i, s in enumerate(scores) if s is not None]
    if len(rated) < 2:
        return "fewer than two rated completions"
    best = max(s for _, s in rated)
    chosen = next(i for i, s in rated if s == best)
    if strategy == "zephyr":
        candidates = [i for i, _ in rated if i != chosen]
    else:
        candidates = [i for i, s in rated if s < best]
        if not candidates:
            return "all completions tied"
    return chosen, rng.choice(candidates)


def to_pair(row: dict[str, Any], chosen: int, rejected: int, strategy: str) -> dict[str, Any]:
    """A TRL conversational preference row with provenance columns."""
    scorer = SCORERS[strategy]
    c, r = row["completions"][chosen], row["completions"][rejected]
    return {
        "prompt": [{"role": "user", "content": row["instruction"]}],
        "chosen": [{"role": "assistant", "content": c["response"]}],
        "rejected": [{"role": "assistant", "content": r["response"]}],
        "score_chosen": scorer(c),
        "score_rejected": scorer(r),
        "source": row.get("source", ""),
        "strategy": strategy,
        "chosen_index": chosen,
        "rejected_index": rejected,
        "chosen_model": c.get("model", ""),
        "rejected_model": r.get("model", ""),
    }


def binarize(rows: list[dict[str, Any]], strategy: str, seed: int = 42) -> tuple[list[dict], BinarizeStats]:
    if strategy not in SCORERS:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {sorted(SCORERS)}")
    rng = random.Random(seed)
    stats = BinarizeStats(rows_in=len(rows))
    pairs = []
    for row in rows:
        scores = [SCORERS[strategy](c) for c in row["completions"]]
        numeric = [s for s in scores if s is not None]
        if numeric and numeric.count(max(numeric)) > 1:
            stats.top_ties += 1
        picked = choose(row, strategy, rng)
        if isinstance(picked, str):
            stats.dropped[picked] += 1
            continue
        pairs.append(to_pair(row, *picked, strategy))
    stats.pairs_out = len(pairs)
    return pairs, stats
