"""Range checks for numbers that reach a score, a filter or a model call, reported all at once.

    found = problems(in_range("--ngram", args.ngram, 1, integer=True), in_range("--top-p", top_p, 0, 1))
    if found: raise NotusError("; ".join(found))

A bool is not a number here (`True` is not 1), NaN and infinities are never in range.
"""

from __future__ import annotations

import math
from typing import Any


def _describe(low: float | None, high: float | None, low_open: bool, high_open: bool, integer: bool) -> str:
    kind = "an integer" if integer else "a finite number"
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}"
    return kind


def in_range(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> str | None:
    """None when `value` is a number in the range, else one line naming `name`, the value and the range."""
    want = _describe(low, high, low_open, high_open, integer)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    return None if ok else f"{name} {value!r}: must be {want}"


def problems(*checks: str | None) -> list[str]:
    """The failed checks of `in_range(...)` calls."""
    return [c for c in checks if c]
