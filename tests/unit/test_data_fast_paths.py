"""The column-wise fast paths agree with the per-row reference rules they replace on the hot path:
vectorised picking (`pick`) with `choose`, score matrices with `mean_rating`/`overall_score`, byte-level
normalisation and word CRC-32 with `normalize`/`zlib.crc32`, and the validation fast path with the
repair path. Inputs are seeded random rows and score matrices built here."""

import itertools
import random
import zlib

import numpy as np
import pytest

from notus.data import validate
from notus.data.binarize import choose, pick
from notus.data.dedup import Words, normalized_utf8
from notus.data.filters import normalize
from notus.data.readers import Record
from notus.data.scores import mean_matrix, overall_matrix, score_matrix
from notus.data.strategies import mean_rating, overall_score, parse_strategy

TEXTS = [
    "  What's the  capital\tof France?! ",
    "Élan naïve straße İstanbul 日本語 — “quoted” x_y a-b",
    "",
    "   ",
    "one",
    "ǅ ﬁne ß",
    "line\nbreak, comma; semi: colon",
]


def test_normalized_bytes_and_word_crc32_match_the_reference():
    words = Words(normalized_utf8(TEXTS))
    assert [k.decode() for k in words.normalized()] == [normalize(t) for t in TEXTS]
    expected = [zlib.crc32(w.encode()) for t in TEXTS for w in normalize(t).split()]
    assert words.crc32().tolist() == expected


def _random_scores(rng: random.Random, rows: int, width: int) -> list[list[float | None]]:
    values = [None, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0]
    return [[rng.choice(values) for _ in range(rng.randint(0, width))] for _ in range(rows)]


@pytest.mark.parametrize(
    "rejected,top_tie,allow_equal,min_margin",
    list(
        itertools.product(["random", "lowest", "all"], ["first", "random", "drop"], [False, True], [0.0, 1.0])
    ),
)
def test_pick_matches_choose(rejected, top_tie, allow_equal, min_margin):
    rng = random.Random(7)
    table = _random_scores(rng, 400, 5)
    spec = parse_strategy("notus", rejected, top_tie, allow_equal, min_margin)
    matrix = np.full((len(table), 5), np.nan)
    for i, row in enumerate(table):
        matrix[i, : len(row)] = [np.nan if s is None else s for s in row]
    picks = pick(matrix, spec, random.Random(3))
    reference_rng, expected, dropped = random.Random(3), [], {}
    for i, row in enumerate(table):
        picked = choose(row, spec, reference_rng)
        if isinstance(picked, str):
            dropped[picked] = dropped.get(picked, 0) + 1
        else:
            expected += [(i, picked[0], r) for r in picked[1]]
    got = list(zip(picks.row.tolist(), picks.chosen.tolist(), picks.rejected.tolist()))
    assert got == expected
    assert list(picks.dropped.items()) == list(dropped.items())  # same reasons, in first-seen order


def _completion(rng: random.Random) -> dict:
    ratings = ["1", "2", "3", "4", "5", "N/A"]
    return {
        "response": "text.",
        "annotations": {a: {"Rating": rng.choice(ratings)} for a in ("honesty", "helpfulness")},
        "overall_score": rng.choice([None, 1.0, 7, 10.0]),
    }


def test_score_matrices_match_the_per_completion_scores():
    rng = random.Random(1)
    rows = [{"completions": [_completion(rng) for _ in range(rng.randint(0, 4))]} for _ in range(200)]
    rows[3]["completions"][:0] = [
        {"response": "x", "annotations": {"honesty": {"Rating": 4}}}
    ]  # not canonical
    for matrix, scorer in ((mean_matrix(rows), mean_rating), (overall_matrix(rows), overall_score)):
        for i, row in enumerate(rows):
            expected = [np.nan if s is None else s for s in map(scorer, row["completions"])]
            assert matrix[i, : len(expected)].tolist() == pytest.approx(expected, nan_ok=True, abs=0)
            assert np.isnan(matrix[i, len(expected) :]).all()
    weighted = parse_strategy("weighted:honesty=2,helpfulness=1")
    assert score_matrix(rows, weighted)[0, 0] == pytest.approx(weighted.score(rows[0]["completions"][0]))


def test_validation_fast_path_equals_the_repair_path(monkeypatch):
    rng = random.Random(2)
    rows = [
        {"instruction": f"q{i}", "completions": [_completion(rng) for _ in range(3)], "id": i}
        for i in range(50)
    ]
    rows[5]["completions"][1]["annotations"]["honesty"]["Rating"] = " 4 "  # repaired
    rows[6]["completions"][0]["annotations"]["honesty"]["Rating"] = "nan"  # quarantined, no traceback
    rows[7]["completions"][2]["overall_score"] = float("inf")  # quarantined
    records = [Record(r, "f.jsonl", i + 1) for i, r in enumerate(rows)]
    fast = validate.validate_rated(records)
    monkeypatch.setattr(validate, "_clean_completions", lambda completions: False)
    slow = validate.validate_rated(records)
    assert [r.row for r in fast[0]] == [r.row for r in slow[0]] and fast[1:] == slow[1:]
    assert [(r["line"], r["field"]) for r in fast[1]] == [
        (7, "completions[0].annotations.honesty.Rating"),
        (8, "completions[2].overall_score"),
    ]
    assert "is outside 1-5" in fast[1][0]["reason"]
