"""Rated rows as flat columns: one read of every completion feeds validation, the response filter,
the score matrices and the output pairs of `notus data binarize`.

    cols = RatedColumns.of([row["completions"] for row in rows])   # Irregular if a shape is off
    clean = cols.clean()                     # per row: nothing for the validator to repair
    cols = cols.drop(dead)                   # completions removed (a bool per completion)
    means, overall = cols.mean_matrix(), cols.overall_matrix()   # == scores.mean_matrix(rows), ...
    first = cols.starts()[i] + j             # completion j of row i in the flat columns

Why columns: on 64k UltraFeedback rows (256k completions, 1M aspect ratings) reading a field of a
completion costs more than the arithmetic done with it (each read is a cache miss), so every field
is read once, into a list or a numpy array, and the stages work on those
(`benchmarks/bench_binarize.py`). The per-row functions in `validate`, `scores` and `strategies`
stay the reference; tests/unit/test_data_fast_paths.py checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import numpy as np

from notus.data.filters import SUSPECT_LAST
from notus.data.strategies import ASPECTS, RATING_VALUES, aspect_ratings

CANONICAL_RATINGS = frozenset({"1", "2", "3", "4", "5", "N/A"})
SCORE_TYPES = frozenset({int, float, type(None)})
_RATING_OBJECTS = [None] + [RATING_VALUES[str(i)] for i in range(1, 6)]  # by rating: N/A (0), 1..5
_BLOCK = 256  # rows read together (about a megabyte of UltraFeedback objects)


def to_matrix(flat: np.ndarray | list, counts: np.ndarray) -> np.ndarray:
    """Per-completion values (row after row) into a NaN-padded (rows, max completions) matrix."""
    out = np.full((len(counts), int(counts.max(initial=0))), np.nan)
    out[np.arange(out.shape[1]) < counts[:, None]] = np.asarray(flat, dtype=float)  # None -> NaN
    return out


def _rating_numbers(ratings: list[Any]) -> np.ndarray:
    """Every rating as a number, NaN for "N/A"; TypeError if one is not text, KeyError if one is
    not exactly "1".."5" or "N/A". Done on one joined string rather than a lookup per rating: with
    "N/A" replaced by \\x01 (absent before), every rating must be one character, so the joined
    text must alternate a code ("1".."5" or \\x01) and the \\x00 separator."""
    if not ratings:
        return np.zeros(0)
    joined = "\x00".join(ratings)  # TypeError: not text
    if "\x01" in joined:
        raise KeyError("\\x01")
    try:
        codes = np.frombuffer(joined.replace("N/A", "\x01").encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        raise KeyError("a rating that is not ASCII") from None
    first = codes[::2]
    if (
        len(codes) != 2 * len(ratings) - 1
        or codes[1::2].any()
        or not (((first >= 49) & (first <= 53)) | (first == 1)).all()
    ):
        raise KeyError("a rating other than 1-5 or N/A")
    return np.where(first == 1, np.nan, first - 48.0)


def _suspects(texts: list[Any], first: int = 0) -> list[int]:
    """Indices (from `first`) of the texts that are not text, or may be empty or truncated: empty,
    ending in a truncation character or a space, or holding a backtick (`filters.SUSPECT_LAST`)."""
    return [k for k, t in enumerate(texts, first) if type(t) is not str or t[-1:] in SUSPECT_LAST or "`" in t]


def _numbers(marks: list[Any], done: list[np.ndarray]) -> list[np.ndarray] | None:
    """`done` plus the overall scores `marks` as floats (None -> NaN), or None if one is not an int,
    a float or None (or too large for a float)."""
    if not {type(x) for x in marks} <= SCORE_TYPES:
        return None
    try:
        done.append(np.array(marks, dtype=float))
    except OverflowError:
        return None
    return done


def _joined(parts: list[np.ndarray] | None) -> np.ndarray | None:
    return None if parts is None else np.concatenate(parts) if parts else np.zeros(0)


class Irregular(ValueError):
    """A completion that is not an object, lacks `response` or `annotations`, or has an aspect
    entry that is not an object: such rows take the row-by-row path."""


@dataclass
class RatedColumns:
    counts: np.ndarray  # (rows,) completions per row
    responses: list[Any]  # (completions,) its `response`
    models: list[Any]  # (completions,) its `model` ("" when missing)
    overall: list[Any]  # (completions,) its `overall_score` (None when missing)
    annotations: list[Any]  # (completions,) its `annotations` object
    per: np.ndarray  # (completions,) its number of aspect entries
    ratings: list[Any] | None  # (entries,) every aspect entry's `Rating`, completion after completion
    _values: np.ndarray | None = field(default=None, repr=False)  # `rating_values()`, once computed
    regular: bool = True  # False: read leniently (`strict=False` on irregular rows), no rating column
    _suspects: list[int] | None = field(default=None, repr=False)  # `suspects()`, once computed
    _scores: np.ndarray | None = field(default=None, repr=False)  # `overall_values()`, once computed

    @classmethod
    def of(cls, completion_lists: list[list[Any]], strict: bool = True) -> RatedColumns:
        """The columns of rows given by their completion lists. Irregular shapes raise `Irregular`,
        or with `strict=False` give columns without the rating columns (responses, models and
        overall scores read leniently; `aspect_ratings` then takes the reference function).

        Read a block of rows at a time, so that the objects just read are still in the cache for
        the next field; the suspect responses, the rating numbers and the overall scores as numbers
        are computed in the same block, while the strings and numbers are in the cache too."""
        counts = np.fromiter(map(len, completion_lists), dtype=np.int64, count=len(completion_lists))
        responses, models, annotations, ratings, overall, per = [], [], [], [], [], []
        suspects: list[int] = []
        values: list[np.ndarray] | None = []  # None once a rating is not canonical
        scores: list[np.ndarray] | None = []  # None once an overall_score is not a number or None
        try:
            for lo in range(0, len(completion_lists), _BLOCK):
                block = [c for cl in completion_lists[lo : lo + _BLOCK] for c in cl]
                texts = [c["response"] for c in block]
                suspects += _suspects(texts, len(responses))
                responses += texts
                models += [c.get("model", "") for c in block]
                held = [c["annotations"] for c in block]
                annotations += held
                per += map(len, held)
                entries = [v["Rating"] for a in held for v in a.values()]  # an entry must be an object
                ratings += entries
                marks = [c.get("overall_score") for c in block]
                overall += marks
                if values is not None:
                    try:
                        values.append(_rating_numbers(entries))
                    except (KeyError, TypeError):
                        values = None
                if scores is not None:
                    scores = _numbers(marks, scores)
        except (KeyError, TypeError, AttributeError) as exc:
            if strict:
                raise Irregular(str(exc)) from None
            # read leniently: nothing validated these rows
            held = [c if isinstance(c, dict) else {} for cl in completion_lists for c in cl]
            responses = [c.get("response") for c in held]
            models = [c.get("model", "") for c in held]
            overall = [c.get("overall_score") for c in held]
            annotations = [c.get("annotations") for c in held]
            per_none = np.zeros(0, dtype=np.int64)
            return cls(counts, responses, models, overall, annotations, per_none, None, regular=False)
        per_array = np.array(per, dtype=np.int64)
        return cls(
            counts,
            responses,
            models,
            overall,
            annotations,
            per_array,
            ratings,
            _joined(values),
            _suspects=suspects,
            _scores=_joined(scores),
        )

    def starts(self) -> np.ndarray:
        """Where each row's completions start in the flat columns."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def clean(self) -> np.ndarray:
        """Per row: every response is text, every rating "1".."5" or "N/A", every overall_score a
        number in 1-10 or missing (what `validate._clean_completions` checks, row by row)."""
        bad = np.zeros(len(self.responses), dtype=bool)
        bad[[k for k in self.suspects() if type(self.responses[k]) is not str]] = True
        try:
            self.rating_values()  # every rating canonical
        except (KeyError, TypeError):  # another spelling, or an unhashable rating (a list, an object)
            wrong = np.array(
                [not (type(r) is str and r in CANONICAL_RATINGS) for r in self.ratings], dtype=bool
            )
            bad[np.repeat(np.arange(len(self.responses)), self.per)[wrong]] = True
        try:
            values = self.overall_values()  # every overall_score a number or None
        except TypeError:
            bad |= np.array(
                [not (type(x) in SCORE_TYPES and (x is None or 1 <= x <= 10)) for x in self.overall],
                dtype=bool,
            )
        else:
            with np.errstate(invalid="ignore"):
                bad |= (values < 1) | (values > 10)
            nan = np.flatnonzero(np.isnan(values))  # missing (fine), or a NaN score (not 1-10)
            bad[nan] |= np.array([self.overall[k] is not None for k in nan.tolist()], dtype=bool)
        row_bad = np.zeros(len(self.counts), dtype=bool)
        row_bad[np.repeat(np.arange(len(self.counts)), self.counts)[bad]] = True
        return ~row_bad

    def suspects(self) -> list[int]:
        """The completions whose response is not text, or may be empty or truncated (`_suspects`):
        a superset of those `filters.response_problem` finds."""
        if self._suspects is None:
            self._suspects = _suspects(self.responses)
        return self._suspects

    def overall_values(self) -> np.ndarray:
        """Every overall_score as a float, NaN when missing; TypeError if one is not an int, a float
        or None (or is too large for a float). Computed once."""
        if self._scores is None:
            self._scores = _joined(_numbers(self.overall, []))
            if self._scores is None:
                raise TypeError("an overall_score that is not a number")
        return self._scores

    def drop(self, dead: np.ndarray) -> RatedColumns:
        """The columns without the completions marked `dead`. Canonical ratings are kept as their
        numbers only (`rating_values()`; `ratings` is then None)."""
        owner = np.repeat(np.arange(len(self.counts)), self.counts)
        alive = ~dead
        entry_alive = np.repeat(alive, self.per)
        try:
            values, ratings = self.rating_values()[entry_alive], None
        except (KeyError, TypeError):
            values, ratings = None, list(compress(self.ratings or [], entry_alive.tolist()))
        keep = alive.tolist()
        return RatedColumns(
            self.counts - np.bincount(owner[dead], minlength=len(self.counts)),
            list(compress(self.responses, keep)),
            list(compress(self.models, keep)),
            list(compress(self.overall, keep)),
            list(compress(self.annotations, keep)),
            self.per[alive],
            ratings,
            values,
            self.regular,
            _scores=None if self._scores is None else self._scores[alive],
        )

    def matrix(self, flat: np.ndarray) -> np.ndarray:
        """Per-completion values into a NaN-padded (rows, most completions) matrix."""
        return to_matrix(flat, self.counts)

    def rating_values(self) -> np.ndarray:
        """Every rating as a number, NaN for N/A (canonical ratings: the validated columns;
        KeyError otherwise). Computed once."""
        if self._values is None:
            if self.ratings is None:
                raise TypeError("no rating column: the rows were irregular")
            self._values = _rating_numbers(self.ratings)
        return self._values

    def mean_matrix(self) -> np.ndarray:
        """`strategies.mean_rating` of every completion: N/A left out, nothing rated -> NaN."""
        values = self.rating_values()
        owner = np.repeat(np.arange(len(self.responses)), self.per)
        rated = ~np.isnan(values)
        total = np.bincount(owner, weights=np.where(rated, values, 0.0), minlength=len(self.responses))
        n = np.bincount(owner, weights=rated, minlength=len(self.responses))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.matrix(np.where(n > 0, total / n, np.nan))

    def overall_matrix(self) -> np.ndarray:
        """`strategies.overall_score` of every completion (validated: numbers or None; TypeError or
        ValueError otherwise)."""
        if not self.regular:
            raise TypeError("no columns: the rows were irregular")
        return self.matrix(self.overall_values())

    def aspect_ratings(self, index: np.ndarray) -> list[dict[str, float | None]]:
        """`strategies.aspect_ratings` of the completions `index`. A completion annotated with
        exactly the four UltraFeedback aspects in their usual order takes its numbers from the rating
        column; any other completion, or every completion when the ratings are not canonical, takes
        the reference function."""
        annotations = [self.annotations[k] for k in index.tolist()]
        try:
            values = self.rating_values()
        except (KeyError, TypeError):  # not canonical, not hashable, or no rating column (`strict=False`)
            return [aspect_ratings({"annotations": a}) for a in annotations]
        usual = [type(a) is dict and tuple(a) == ASPECTS for a in annotations]
        entry_start = np.concatenate([[0], np.cumsum(self.per)[:-1]])
        entries = entry_start[index[np.array(usual, dtype=bool)]][:, None] + np.arange(len(ASPECTS))
        codes = np.nan_to_num(values[entries], nan=0.0).astype(np.int64).ravel().tolist()
        numbers = iter(list(map(_RATING_OBJECTS.__getitem__, codes)))  # shared objects, not new floats
        first, second, third, fourth = ASPECTS
        fast = [
            {first: a, second: b, third: c, fourth: d}
            for a, b, c, d in zip(numbers, numbers, numbers, numbers)
        ]
        if len(fast) == len(annotations):
            return fast
        rest = iter(fast)
        return [next(rest) if u else aspect_ratings({"annotations": a}) for u, a in zip(usual, annotations)]
