"""Rated rows as flat columns: one read of every completion feeds validation, the response filter,
the score matrices and the output pairs of `notus data binarize`.

    cols = RatedColumns.of([row["completions"] for row in rows])   # Irregular if a shape is off
    clean = cols.clean()                     # per row: nothing for the validator to repair
    cols = cols.drop(dead)                   # completions removed (a bool per completion)
    means, overall = cols.mean_matrix(), cols.overall_matrix()   # == scores.mean_matrix(rows), ...
    first = cols.starts()[i] + j             # completion j of row i in the flat columns

Why columns: on 64k UltraFeedback rows (256k completions, 1M aspect ratings) reading a field of a
completion costs more than the arithmetic done with it (each read is a cache miss), so every field
is read once, a block of rows at a time, and the stages work on the columns
(`benchmarks/bench_binarize.py`). The columns hold numbers, or one shared object per distinct
model name and overall score, rather than a reference to every row's own object: each such
reference costs a cache miss to take, to copy and to give back. Only the responses (the output
text) are referenced one by one, and the annotations of completions that are not annotated with
exactly the four UltraFeedback aspects. The per-row functions in `validate`, `scores` and
`strategies` stay the reference; tests/unit/test_data_fast_paths.py checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, compress
from typing import Any

import numpy as np

from notus.core.types import ASPECTS, NOT_APPLICABLE, RATINGS
from notus.data.filters import SUSPECT_LAST
from notus.data.strategies import RATING_VALUES, aspect_ratings, rating

CANONICAL_RATINGS = frozenset({*RATINGS, NOT_APPLICABLE})
SCORE_TYPES = frozenset({int, float, type(None)})
_RATING_TEXTS = [NOT_APPLICABLE, *RATINGS]  # by rating code: N/A (0), 1..5
_RATING_OBJECTS = [RATING_VALUES[r] for r in _RATING_TEXTS]
_USUAL = list(ASPECTS)
_BLOCK = 256  # rows read together (about a megabyte of UltraFeedback objects)


def to_matrix(flat: np.ndarray | list, counts: np.ndarray) -> np.ndarray:
    """Per-completion values (row after row) into a NaN-padded (rows, max completions) matrix."""
    out = np.full((len(counts), int(counts.max(initial=0))), np.nan)
    out[np.arange(out.shape[1]) < counts[:, None]] = np.asarray(flat, dtype=float)  # None -> NaN
    return out


def _starts(counts: np.ndarray) -> np.ndarray:
    """Where each group starts in a flat array, for groups of `counts` items one after another."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _owners(counts: np.ndarray) -> np.ndarray:
    """The group of each item of a flat array, for groups of `counts` items one after another."""
    return np.repeat(np.arange(len(counts)), counts)


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


def _shared(values: list[Any], pool: dict[Any, Any], kind: type) -> list[Any]:
    """`values` with every value of type `kind` replaced by the first equal one seen (`pool`);
    values of other types (None aside) stay as they are (True must not become 1.0)."""
    if set(map(type, values)) <= {kind, type(None)}:  # the common case, without a Python loop
        return list(map(pool.setdefault, values, values))
    return [pool.setdefault(v, v) if type(v) is kind else v for v in values]


class Irregular(ValueError):
    """A completion that is not an object, lacks `response` or `annotations`, or has an aspect
    entry that is not an object: such rows take the row-by-row path."""


@dataclass
class RatedColumns:
    counts: np.ndarray  # (rows,) completions per row
    responses: list[Any]  # (completions,) its `response`
    models: list[Any]  # (completions,) its `model` ("" when missing); equal names: one shared object
    overall: list[Any]  # (completions,) its `overall_score` (None when missing); equal floats: one object
    per: np.ndarray  # (completions,) its number of aspect entries
    usual: np.ndarray  # (completions,) annotated with exactly the four aspects, in the usual order
    unusual: dict[int, Any]  # completion -> its `annotations`, for every completion not `usual`
    values: np.ndarray | None  # (entries,) every `Rating` as a number, NaN for N/A; None: not canonical
    ratings: list[Any] | None  # (entries,) every raw `Rating`, kept only when `values` is None
    regular: bool = True  # False: read leniently (`strict=False` on irregular rows), no rating column
    _suspects: list[int] | None = field(default=None, repr=False)  # `suspects()`, once computed

    @classmethod
    def of(cls, completion_lists: list[list[Any]], strict: bool = True) -> RatedColumns:
        """The columns of rows given by their completion lists. Irregular shapes raise `Irregular`,
        or with `strict=False` give columns without rating numbers (responses, models and overall
        scores read leniently; `aspect_ratings` then takes the reference function).

        Read a block of rows at a time, so that the objects just read are still in the cache for
        the next field: the suspect responses, the rating numbers and the aspect order are worked
        out in the same block."""
        counts = np.fromiter(map(len, completion_lists), dtype=np.int64, count=len(completion_lists))
        responses: list[Any] = []
        models: list[Any] = []
        overall: list[Any] = []
        per: list[int] = []
        usual: list[bool] = []
        unusual: dict[int, Any] = {}
        suspects: list[int] = []
        values: list[np.ndarray] = []
        ratings: list[Any] | None = None  # raw ratings, once one is not canonical
        names: dict[Any, Any] = {}
        scores: dict[Any, Any] = {}
        try:
            for lo in range(0, len(completion_lists), _BLOCK):
                block = [c for cl in completion_lists[lo : lo + _BLOCK] for c in cl]
                first = len(responses)
                texts = [c["response"] for c in block]
                suspects += _suspects(texts, first)
                responses += texts
                models += _shared([c.get("model", "") for c in block], names, str)
                overall += _shared([c.get("overall_score") for c in block], scores, float)
                held = [c["annotations"] for c in block]
                per += map(len, held)
                entries = [v["Rating"] for a in held for v in a.values()]  # an entry must be an object
                if list(chain.from_iterable(held)) == _USUAL * len(held):  # every key, in order
                    usual += [True] * len(held)
                else:
                    flags = [tuple(a) == ASPECTS for a in held]
                    usual += flags
                    unusual.update((first + k, a) for k, a in enumerate(held) if not flags[k])
                if ratings is None:
                    try:
                        values.append(_rating_numbers(entries))
                        continue
                    except (KeyError, TypeError):  # from here on, keep the raw ratings
                        done = np.concatenate(values) if values else np.zeros(0)
                        ratings = [_RATING_TEXTS[c] for c in np.nan_to_num(done).astype(np.int64).tolist()]
                ratings += entries
        except (KeyError, TypeError, AttributeError) as exc:
            if strict:
                raise Irregular(str(exc)) from None
            # read leniently: nothing validated these rows
            held = [c if isinstance(c, dict) else {} for cl in completion_lists for c in cl]
            return cls(
                counts,
                [c.get("response") for c in held],
                [c.get("model", "") for c in held],
                [c.get("overall_score") for c in held],
                np.zeros(len(held), dtype=np.int64),
                np.zeros(len(held), dtype=bool),
                {k: c.get("annotations") for k, c in enumerate(held)},
                None,
                None,
                regular=False,
            )
        return cls(
            counts,
            responses,
            models,
            overall,
            np.array(per, dtype=np.int64),
            np.array(usual, dtype=bool),
            unusual,
            None if ratings is not None else np.concatenate(values) if values else np.zeros(0),
            ratings,
            _suspects=suspects,
        )

    def starts(self) -> np.ndarray:
        """Where each row's completions start in the flat columns."""
        return _starts(self.counts)

    def owners(self) -> np.ndarray:
        """The row of each completion in the flat columns."""
        return _owners(self.counts)

    def clean(self) -> np.ndarray:
        """Per row: every response is text, every rating "1".."5" or "N/A", every overall_score a
        number in 1-10 or missing (what `validate._clean_completions` checks, row by row)."""
        bad = np.zeros(len(self.responses), dtype=bool)
        bad[[k for k in self.suspects() if type(self.responses[k]) is not str]] = True
        if self.values is None:  # another spelling, or an unhashable rating (a list, an object)
            wrong = np.array(
                [not (type(r) is str and r in CANONICAL_RATINGS) for r in self.ratings or []], dtype=bool
            )
            bad[_owners(self.per)[wrong]] = True
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
        row_bad[self.owners()[bad]] = True
        return ~row_bad

    def suspects(self) -> list[int]:
        """The completions whose response is not text, or may be empty or truncated (`_suspects`):
        a superset of those `filters.response_problem` finds."""
        if self._suspects is None:
            self._suspects = _suspects(self.responses)
        return self._suspects

    def overall_values(self) -> np.ndarray:
        """Every overall_score as a float, NaN when missing; TypeError if one is not an int, a float
        or None (or is too large for a float)."""
        if not set(map(type, self.overall)) <= SCORE_TYPES:
            raise TypeError("an overall_score that is not a number")
        try:
            return np.array(self.overall, dtype=float)  # None -> NaN
        except OverflowError:
            raise TypeError("an overall_score too large for a float") from None

    def drop(self, dead: np.ndarray) -> RatedColumns:
        """The columns without the completions marked `dead`."""
        alive = ~dead
        entry_alive = np.repeat(alive, self.per)
        keep = alive.tolist()
        position = np.cumsum(alive) - 1  # each kept completion's place in the new columns
        return RatedColumns(
            self.counts - np.bincount(self.owners()[dead], minlength=len(self.counts)),
            list(compress(self.responses, keep)),
            list(compress(self.models, keep)),
            list(compress(self.overall, keep)),
            self.per[alive],
            self.usual[alive],
            {int(position[k]): a for k, a in self.unusual.items() if keep[k]},
            None if self.values is None else self.values[entry_alive],
            None if self.ratings is None else list(compress(self.ratings, entry_alive.tolist())),
            self.regular,
        )

    def matrix(self, flat: np.ndarray) -> np.ndarray:
        """Per-completion values into a NaN-padded (rows, most completions) matrix."""
        return to_matrix(flat, self.counts)

    def rating_values(self) -> np.ndarray:
        """Every rating as a number, NaN for N/A: KeyError when a rating is not canonical ("1".."5"
        or "N/A"; every validated row's are), TypeError for columns read leniently."""
        if self.values is None:
            if not self.regular:
                raise TypeError("no rating column: the rows were irregular")
            raise KeyError("a rating that is not 1-5 or N/A")
        return self.values

    def mean_matrix(self) -> np.ndarray:
        """`strategies.mean_rating` of every completion: N/A left out, nothing rated -> NaN."""
        values = self.rating_values()
        owner = _owners(self.per)
        rated = ~np.isnan(values)
        total = np.bincount(owner, weights=np.where(rated, values, 0.0), minlength=len(self.responses))
        n = np.bincount(owner, weights=rated, minlength=len(self.responses))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.matrix(np.where(n > 0, total / n, np.nan))

    def overall_matrix(self) -> np.ndarray:
        """`strategies.overall_score` of every completion (validated: numbers or None; TypeError
        otherwise)."""
        if not self.regular:
            raise TypeError("no columns: the rows were irregular")
        return self.matrix(self.overall_values())

    def aspect_ratings(self, index: np.ndarray) -> list[dict[str, float | None]]:
        """`strategies.aspect_ratings` of the completions `index`. A completion annotated with
        exactly the four UltraFeedback aspects in their usual order takes its numbers from the rating
        column (or `strategies.rating` of its raw ratings); any other takes the reference function."""
        usual = self.usual[index]
        entries = _starts(self.per)[index[usual]][:, None] + np.arange(len(ASPECTS))
        if self.values is not None:
            codes = np.nan_to_num(self.values[entries], nan=0.0).astype(np.int64).ravel().tolist()
            numbers = iter(list(map(_RATING_OBJECTS.__getitem__, codes)))  # shared objects, not new floats
        else:
            raw = self.ratings or []
            numbers = iter([rating(raw[e]) for e in entries.ravel().tolist()])
        first, second, third, fourth = ASPECTS
        fast = [
            {first: a, second: b, third: c, fourth: d}
            for a, b, c, d in zip(numbers, numbers, numbers, numbers)
        ]
        if len(fast) == len(index):
            return fast
        rest = iter(fast)
        return [
            next(rest) if u else aspect_ratings({"annotations": self.unusual[k]})
            for u, k in zip(usual.tolist(), index.tolist())
        ]
