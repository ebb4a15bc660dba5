"""Rated rows as flat columns: every completion field read once, then every rule works on columns.

    raw = RawColumns.read(rows)            # lenient: whatever the rows hold (validation reads this)
    cols = RatedColumns.read(rows)         # validated rows: numbers, NaN where there is no rating
    means = cols.matrix(mean_rating(cols.ratings))   # per row, per completion, NaN-padded
    k = cols.starts()[i] + j               # completion j of row i in the flat columns

Not an Arrow table: the rows arrive as Python objects, and `pyarrow.Table.from_pylist` of 20,000
raw UltraFeedback rows took 0.6 s of CPU, as long as their whole curation (0.6-0.7 s).

A rating matrix has one row per completion and one column per aspect (the four UltraFeedback aspects,
then any other aspect in the order first seen), NaN for N/A or missing. Numbers are numpy arrays;
the texts stay Python lists (they are only passed on, never computed with).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from itertools import chain, compress, repeat
from typing import Any

import numpy as np

from notus.core.types import ASPECTS, NOT_APPLICABLE, RATINGS

BLOCK = 256  # rows read together (about a megabyte of UltraFeedback objects)
RATING_VALUES: dict[Any, float] = {r: float(r) for r in RATINGS} | {NOT_APPLICABLE: np.nan}
RATING_OBJECTS = [None, *(RATING_VALUES[r] for r in RATINGS)]  # by rating number, 0 for N/A


def field(objects: list[dict[str, Any]], key: str, default: Any = None) -> list[Any]:
    """`key` of every object (`default` when missing)."""
    return list(map(dict.get, objects, repeat(key, len(objects)), repeat(default, len(objects))))


@dataclass
class RawColumns:
    """What rated rows hold, read leniently: a completion that is not an object reads as `{}`,
    annotations that are not an object as none, an aspect entry that is not an object as its own
    rating. Validation (`notus.data.validate`) judges these values; nothing here does."""

    counts: np.ndarray  # (rows,) completions per row (0 when `completions` is not a list)
    completions: list[Any]  # (completions,) as found
    responses: list[Any]  # (completions,) `response`, None when missing
    models: list[Any]  # (completions,) `model`, "" when missing
    overall: list[Any]  # (completions,) `overall_score`, None when missing
    annotations: list[Any]  # (completions,) `annotations` as found (None when missing)
    entries: np.ndarray  # (completions,) aspect entries read from each completion
    aspects: list[Any]  # (entries,) the aspect name of each entry
    ratings: list[Any]  # (entries,) the entry's `Rating` (or the entry itself when not an object)
    bare: np.ndarray  # (entries,) the entry is not an object (its value read as the rating)

    @classmethod
    def read(cls, rows: list[dict[str, Any]]) -> RawColumns:
        """Read `BLOCK` rows at a time: every field of a block is read while its objects are still
        in the CPU cache (reading one field of all rows, then the next, was 3x slower at 20k rows)."""
        return cls.concat([cls.read_block(rows[lo : lo + BLOCK]) for lo in range(0, len(rows), BLOCK)])

    @classmethod
    def concat(cls, parts: list[RawColumns]) -> RawColumns:
        """The columns of several blocks of rows, one after another."""
        parts = parts or [cls.read_block([])]
        return cls(*(
            np.concatenate(values) if isinstance(values[0], np.ndarray) else list(chain.from_iterable(values))
            for values in zip(*([getattr(p, f.name) for f in fields(p)] for p in parts))
        ))  # fmt: skip

    @classmethod
    def read_block(cls, rows: list[dict[str, Any]]) -> RawColumns:
        lists = [cl if type(cl) is list else [] for cl in field(rows, "completions")]
        flat = list(chain.from_iterable(lists))
        objects = flat if set(map(type, flat)) <= {dict} else [c if type(c) is dict else {} for c in flat]
        annotations = field(objects, "annotations")
        held = (
            annotations
            if set(map(type, annotations)) <= {dict}
            else [a if type(a) is dict else {} for a in annotations]
        )
        entries = list(chain.from_iterable(map(dict.values, held)))
        bare = np.zeros(len(entries), dtype=bool)
        if set(map(type, entries)) <= {dict}:
            ratings = field(entries, "Rating")
        else:
            bare = np.array([type(v) is not dict for v in entries], dtype=bool)
            ratings = [v.get("Rating") if type(v) is dict else v for v in entries]
        return cls(
            np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)),
            flat,
            field(objects, "response"),
            field(objects, "model", ""),
            field(objects, "overall_score"),
            annotations,
            np.fromiter(map(len, held), dtype=np.int64, count=len(held)),
            list(chain.from_iterable(held)),
            ratings,
            bare,
        )


@dataclass
class RatedColumns:
    """Validated rated rows as columns (every rating "1".."5" or "N/A", every overall_score a number
    or None, every response text)."""

    counts: np.ndarray  # (rows,) completions per row
    responses: list[str]  # (completions,)
    models: list[Any]  # (completions,)
    overall: np.ndarray  # (completions,) overall_score, NaN when missing
    ratings: np.ndarray  # (completions, aspects) NaN for N/A or missing
    aspects: tuple[str, ...]  # the rating matrix's columns: ASPECTS, then any other aspect
    present: np.ndarray  # (completions, aspects) the completion has this aspect entry

    @classmethod
    def read(cls, rows: list[dict[str, Any]], raw: RawColumns | None = None) -> RatedColumns:
        raw = raw or RawColumns.read(rows)
        column = {a: k for k, a in enumerate(ASPECTS)}
        if raw.aspects == list(ASPECTS) * len(raw.responses):  # each completion: the four, in order
            where = np.tile(np.arange(len(ASPECTS)), len(raw.responses))
        else:
            column = {a: k for k, a in enumerate(dict.fromkeys([*ASPECTS, *raw.aspects]))}
            where = np.fromiter(map(column.__getitem__, raw.aspects), dtype=np.int64, count=len(raw.aspects))
        owner = np.repeat(np.arange(len(raw.entries)), raw.entries)
        ratings = np.full((len(raw.responses), len(column)), np.nan)
        ratings[owner, where] = np.fromiter(
            map(RATING_VALUES.__getitem__, raw.ratings), dtype=float, count=len(raw.ratings)
        )
        present = np.zeros(ratings.shape, dtype=bool)
        present[owner, where] = True
        return cls(
            raw.counts,
            raw.responses,
            raw.models,
            np.array(raw.overall, dtype=float),
            ratings,
            tuple(column),
            present,
        )

    def starts(self) -> np.ndarray:
        """Where each row's completions start in the flat columns."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def owners(self) -> np.ndarray:
        """The row of each completion in the flat columns."""
        return np.repeat(np.arange(len(self.counts)), self.counts)

    def matrix(self, flat: np.ndarray) -> np.ndarray:
        """Per-completion values into a NaN-padded (rows, most completions) matrix."""
        out = np.full((len(self.counts), int(self.counts.max(initial=0))), np.nan)
        out[np.arange(out.shape[1]) < self.counts[:, None]] = np.asarray(flat, dtype=float)  # None -> NaN
        return out

    def aspect(self, name: str) -> np.ndarray:
        """One aspect's rating of every completion (NaN: N/A, missing, or an aspect nobody has)."""
        if name not in self.aspects:
            return np.full(len(self.responses), np.nan)
        return self.ratings[:, self.aspects.index(name)]

    def drop(self, dead: np.ndarray) -> RatedColumns:
        """The columns without the completions marked `dead`."""
        alive = ~dead
        return RatedColumns(
            self.counts - np.bincount(self.owners()[dead], minlength=len(self.counts)),
            list(compress(self.responses, alive.tolist())),
            list(compress(self.models, alive.tolist())),
            self.overall[alive],
            self.ratings[alive],
            self.aspects,
            self.present[alive],
        )

    def aspect_ratings(self, index: np.ndarray) -> list[dict[str, float | None]]:
        """Per completion of `index`: the four UltraFeedback aspects (None when N/A or missing),
        then any other aspect it has, as a dict."""
        names = self.aspects
        if len(names) == len(ASPECTS):  # one shared object per rating value, not a float per rating
            codes = np.nan_to_num(self.ratings[index], nan=0.0).astype(np.int64).ravel().tolist()
            numbers = iter(list(map(RATING_OBJECTS.__getitem__, codes)))
            a, b, c, d = names
            return [{a: w, b: x, c: y, d: z} for w, x, y, z in zip(numbers, numbers, numbers, numbers)]
        values = self.ratings[index].tolist()
        present = self.present[index].tolist()
        return [
            {
                n: None if v != v else v
                for k, (n, v, p) in enumerate(zip(names, row, has))
                if p or k < len(ASPECTS)
            }
            for row, has in zip(values, present)
        ]
