"""Binarization strategies: how a completion is scored, and how chosen/rejected are picked.

    spec = parse_strategy("weighted:helpfulness=2,honesty=1")
    scores = spec.score(RatedColumns.read(rows))   # every completion's score, NaN for none

Scorers (a closed registry, named in recipes and with `--strategy`):
- `notus`            mean of the aspect ratings present (Notus / Argilla recipe);
- `zephyr`           the critique `overall_score` (1-10; Zephyr / H4 recipe);
- `aspect:NAME`      one aspect rating, e.g. `aspect:honesty`;
- `weighted:A=W,...` weighted mean of aspect ratings, e.g. `weighted:helpfulness=2,honesty=1`.

N/A rule: an "N/A" (or missing) aspect rating is left out; a mean/weighted mean is taken over the
remaining aspects, weights renormalised; a completion with none of its aspects rated has no score
and is never chosen or rejected. A missing `overall_score` means no score for `zephyr`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from notus.core.errors import NotusError
from notus.core.registry import Registry
from notus.core.types import ASPECTS
from notus.data.numbers import in_range, problems

if TYPE_CHECKING:
    from notus.data.columns import RatedColumns

Scorer = Callable[["RatedColumns"], np.ndarray]  # the score of every completion, NaN for none
SCORERS: Registry[Callable[[str], Scorer]] = Registry("binarization strategy")


def mean_rating(ratings: np.ndarray) -> np.ndarray:
    """Per row of a (completions, aspects) rating matrix: the mean of the ratings it has (N/A left
    out), NaN when it has none."""
    rated = ~np.isnan(ratings)
    n = rated.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(rated, ratings, 0.0).sum(axis=1) / n, np.nan)


@SCORERS.register("notus")
def _notus(arg: str) -> Scorer:
    return lambda cols: mean_rating(cols.ratings)


@SCORERS.register("zephyr")
def _zephyr(arg: str) -> Scorer:
    return lambda cols: cols.overall


@SCORERS.register("aspect")
def _aspect(arg: str) -> Scorer:
    if not arg:
        raise NotusError(f"aspect strategy needs a name, e.g. aspect:honesty (aspects: {', '.join(ASPECTS)})")
    name = arg.replace("-", "_")
    return lambda cols: cols.aspect(name)


@SCORERS.register("weighted")
def _weighted(arg: str) -> Scorer:
    weights: dict[str, float] = {}
    for part in filter(None, arg.split(",")):
        name, _, w = part.partition("=")
        try:
            weights[name.strip().replace("-", "_")] = float(w)
        except ValueError:
            raise NotusError(
                f"weighted strategy: {part!r} is not ASPECT=WEIGHT, e.g. helpfulness=2"
            ) from None
    bad = problems(*(in_range(f"weight of {a}", w, 0) for a, w in weights.items()))
    if not weights or bad or sum(weights.values()) == 0:
        raise NotusError(
            "weighted strategy needs finite non-negative weights, not all 0, e.g. "
            "weighted:helpfulness=2,honesty=1" + (f" ({'; '.join(bad)})" if bad else "")
        )

    def score(cols: RatedColumns) -> np.ndarray:
        """Sum of weight x rating over the rated aspects with a weight > 0, over the sum of those
        weights (weights renormalised over what is rated); NaN when none is rated."""
        total = np.zeros(len(cols.responses))
        used = np.zeros(len(cols.responses))
        for aspect, w in weights.items():
            values = cols.aspect(aspect)
            rated = ~np.isnan(values) & (w > 0)
            total += np.where(rated, w * values, 0.0)
            used += np.where(rated, w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(used > 0, total / used, np.nan)

    return score


@dataclass
class Strategy:
    """A scorer plus the picking policy (all choices are closed literals)."""

    name: str
    score: Scorer
    rejected: Literal["random", "lowest", "all"] = "random"
    top_tie: Literal["first", "random", "drop"] = "first"
    allow_equal: bool = False  # may the rejected completion score the same as the chosen one?
    min_margin: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def parse_strategy(
    name: str,
    rejected: str = "random",
    top_tie: str = "first",
    allow_equal: bool | None = None,
    min_margin: float = 0.0,
) -> Strategy:
    """`notus`, `zephyr`, `aspect:NAME` or `weighted:A=W,...` plus the picking options.

    `allow_equal` defaults to True for zephyr (H4 kept ties) and False otherwise (Notus drops them).
    """
    base, _, arg = name.partition(":")
    scorer = SCORERS.get(base)(arg)
    for value, allowed, what in (
        (rejected, ("random", "lowest", "all"), "rejected"),
        (top_tie, ("first", "random", "drop"), "top-tie"),
    ):
        if value not in allowed:
            raise NotusError(f"unknown {what} policy {value!r}; choose one of: {', '.join(allowed)}")
    if bad := in_range("min margin", min_margin, 0):
        raise NotusError(bad)
    equal = (base == "zephyr") if allow_equal is None else allow_equal
    return Strategy(name, scorer, rejected, top_tie, equal, min_margin)  # type: ignore[arg-type]
