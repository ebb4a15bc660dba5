"""Binarization strategies: how a completion is scored, and how chosen/rejected are picked.

    spec = parse_strategy("weighted:helpfulness=2,honesty=1")
    scores = [spec.score(c) for c in row["completions"]]

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
from typing import Any, Literal

from notus.core.errors import NotusError
from notus.core.registry import Registry
from notus.core.types import ASPECTS, NOT_APPLICABLE, RATINGS
from notus.data.numbers import in_range, problems

ASPECT_SET = frozenset(ASPECTS)
Scorer = Callable[[dict[str, Any]], float | None]
SCORERS: Registry[Callable[[str], Scorer]] = Registry("binarization strategy")


RATING_VALUES: dict[Any, float | None] = {r: float(r) for r in RATINGS} | {NOT_APPLICABLE: None, None: None}


def rating(value: Any) -> float | None:
    """A rating as a number; None for "N/A", missing or unparseable."""
    if type(value) is float:  # overall scores once validated: no lookup, no exception
        return value
    try:
        return RATING_VALUES[value]
    except (KeyError, TypeError):
        pass
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def aspect_ratings(completion: dict[str, Any]) -> dict[str, float | None]:
    """Every aspect rating of one completion: the four UltraFeedback aspects in their usual order
    (None when missing), then any other aspects in the order of the annotations."""
    annotations = completion.get("annotations") or {}
    try:  # fast path: exactly the four aspects, canonical "1".."5" / "N/A" strings
        if annotations.keys() == ASPECT_SET:
            return {aspect: RATING_VALUES[annotations[aspect]["Rating"]] for aspect in ASPECTS}
    except (KeyError, TypeError, AttributeError):
        pass
    out = dict.fromkeys(ASPECTS)
    for aspect, value in annotations.items():
        out[aspect] = rating(value.get("Rating") if isinstance(value, dict) else value)
    return out


def mean_rating(completion: dict[str, Any]) -> float | None:
    annotations = (completion.get("annotations") or {}).values()
    try:  # fast path: canonical "1".."5" / "N/A" strings
        values = [RATING_VALUES[v["Rating"]] for v in annotations]
    except (KeyError, TypeError):
        values = [rating(v.get("Rating") if isinstance(v, dict) else v) for v in annotations]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def overall_score(completion: dict[str, Any]) -> float | None:
    return rating(completion.get("overall_score"))


@SCORERS.register("notus")
def _notus(arg: str) -> Scorer:
    return mean_rating


@SCORERS.register("zephyr")
def _zephyr(arg: str) -> Scorer:
    return overall_score


@SCORERS.register("aspect")
def _aspect(arg: str) -> Scorer:
    if not arg:
        raise NotusError(f"aspect strategy needs a name, e.g. aspect:honesty (aspects: {', '.join(ASPECTS)})")
    name = arg.replace("-", "_")
    return lambda c: aspect_ratings(c).get(name)


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

    def score(c: dict[str, Any]) -> float | None:
        ratings = aspect_ratings(c)
        used = [(w, ratings.get(a)) for a, w in weights.items() if ratings.get(a) is not None and w > 0]
        total = sum(w for w, _ in used)
        return sum(w * v for w, v in used) / total if total else None

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
