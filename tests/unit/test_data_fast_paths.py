"""The column-wise fast paths agree with the per-row reference rules they replace on the hot path:
vectorised picking (`pick`) with `choose`, score matrices with `mean_rating`/`overall_score`, byte-level
normalisation and word hashes with `normalize`/`word_hash`, and the validation fast path with the
repair path. Inputs are seeded random rows and score matrices built here."""

import itertools
import random

import numpy as np
import pytest

from notus.data import dedup, validate
from notus.data.binarize import choose, pick
from notus.data.dedup import Words, minhash
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


def test_normalized_bytes_and_word_hashes_match_the_reference():
    words = Words(TEXTS)
    assert [words.key(t).decode() for t in range(len(TEXTS))] == [normalize(t) for t in TEXTS]
    assert words.text.tolist() == [t for t, text in enumerate(TEXTS) for _ in normalize(text).split()]
    expected = [dedup.word_hash(w.encode()) for t in TEXTS for w in normalize(t).split()]
    assert words.hashes().tolist() == expected
    long_words = ["a" * n + "b" for n in range(30)] + ["x" * 7, "x" * 8, "x" * 9, "日本語" * 5]
    hashes = Words([" ".join(long_words)]).hashes().tolist()
    assert hashes == [dedup.word_hash(w.encode()) for w in long_words]
    assert len(set(hashes)) == len(long_words)
    ascii_only = [t for t in TEXTS if t.isascii()]  # the one-translate path
    assert [Words(ascii_only).key(t).decode() for t in range(len(ascii_only))] == list(
        map(normalize, ascii_only)
    )


def test_exact_duplicates_survive_hash_collisions(monkeypatch):
    """Equal sequence hashes only make texts candidates: they are compared word by word."""
    prompts = ["Hello, world!", "hello world", "other text", "OTHER   text?", "hello world again", ""]
    expected = dedup.duplicate_prompts(prompts, near=None)
    assert expected[1] == {1: (0, "exact"), 3: (2, "exact")}
    monkeypatch.setattr(
        Words, "sequence_hash", lambda self, hashes: np.zeros(len(self.first), dtype=np.uint64)
    )
    assert dedup.duplicate_prompts(prompts, near=None) == expected


def test_minhash_is_the_minimum_of_each_hash_function_over_each_texts_shingles():
    rng = np.random.default_rng(0)
    flat = rng.integers(0, 2**32, size=3000, dtype=np.uint64)
    offsets = np.array([0, 1, 5, 900, 901, 2999])
    sig = minhash(flat, offsets, num_perm=8, chunk=256)
    seeds = np.random.default_rng(1)
    a = seeds.integers(1, 2**63, size=8, dtype=np.uint64) | np.uint64(1)
    b = seeds.integers(0, 2**63, size=8, dtype=np.uint64)
    ends = [*offsets[1:], len(flat)]
    for t, (lo, hi) in enumerate(zip(offsets, ends)):
        for k in range(8):
            values = [((int(x) * int(a[k]) + int(b[k])) % 2**64) >> 32 for x in flat[lo:hi]]
            assert sig[t, k] == min(values)


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
    monkeypatch.setattr(validate, "_clean_rows", lambda rows, lists=None: ([False] * len(rows), None))
    slow = validate.validate_rated(records)
    assert [r.row for r in fast[0]] == [r.row for r in slow[0]] and fast[1:3] == slow[1:3]
    for cols in (fast[3], slow[3]):  # the kept rows' columns, read again after the repairs
        assert cols.counts.tolist() == [3] * 48 and cols.clean().all()
    assert [(r["line"], r["field"]) for r in fast[1]] == [
        (7, "completions[0].annotations.honesty.Rating"),
        (8, "completions[2].overall_score"),
    ]
    assert "is outside 1-5" in fast[1][0]["reason"]


def test_column_wise_validity_check_equals_the_per_row_check():
    """`_clean_rows` over all rows at once gives, row by row, what `_clean_completions` gives."""
    rng = random.Random(4)
    rows = [{"instruction": f"q{i}", "completions": [_completion(rng) for _ in range(3)]} for i in range(40)]
    rows[1]["completions"][0]["annotations"]["honesty"]["Rating"] = "n/a"
    rows[2]["completions"][1]["overall_score"] = "8"
    rows[3]["completions"][2]["overall_score"] = 11
    rows[4]["completions"][0]["overall_score"] = float("nan")
    rows[5]["completions"][1]["response"] = None
    rows[6]["completions"] = []
    rows[7]["instruction"] = None
    rows[8]["completions"] = "not a list"
    rows[9]["completions"][0]["overall_score"] = True
    expected = [
        type(r["instruction"]) is str
        and type(r["completions"]) is list
        and validate._clean_completions(r["completions"])
        for r in rows
    ]
    assert validate._clean_rows(rows)[0] == expected
    assert expected.count(False) == 8
    rows[10]["completions"][0] = "not an object"  # an irregular shape: the row-by-row fallback
    expected[10] = False
    assert validate._clean_rows(rows) == (expected, None)


def test_whitespace_list_and_suspect_responses_cover_the_exact_rule():
    import sys

    from notus.data.columns import RatedColumns
    from notus.data.filters import WHITESPACE, response_problem

    assert WHITESPACE == "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    texts = [
        "",
        " ",
        "ok.",
        "ok",
        "a,",
        "b:\u3000",
        "```py\nx",
        "```x```",
        "`a`",
        "(",
        "end\n",
        "x-",
        5,
        None,
    ]
    cols = RatedColumns.of([[{"response": t, "annotations": {}} for t in texts]])
    found = set(cols.suspects())
    assert {k for k, t in enumerate(texts) if not isinstance(t, str) or response_problem(t)} <= found
    assert found == {k for k, t in enumerate(texts) if t not in ("ok.", "ok")}  # nothing else flagged


def test_columns_drop_and_aspect_ratings_match_the_per_completion_reference():
    from notus.data.columns import RatedColumns
    from notus.data.strategies import aspect_ratings

    rng = random.Random(5)
    aspects = ("instruction_following", "honesty", "truthfulness", "helpfulness")
    rows = [
        [
            {
                "response": f"r{i}.{j}",
                "model": f"m{j}",
                "annotations": {a: {"Rating": rng.choice(["1", "3", "5", "N/A"])} for a in aspects},
                "overall_score": rng.choice([None, 2.0, 9]),
            }
            for j in range(rng.randint(0, 4))
        ]
        for i in range(60)
    ]
    rows[7][0]["annotations"] = {"honesty": {"Rating": "2"}}  # not all four aspects: the reference path
    base = {"response": "x", "model": "m", "annotations": {a: {"Rating": "4"} for a in aspects}}
    rows[9].append({**base, "annotations": dict(reversed(base["annotations"].items()))})  # other order
    rows[11].append({**base, "annotations": {**base["annotations"], "style": {"Rating": "N/A"}}})
    cols = RatedColumns.of(rows)
    flat = [c for cl in rows for c in cl]
    index = np.arange(len(flat))
    expected = [aspect_ratings(c) for c in flat]
    assert cols.aspect_ratings(index) == expected
    # the four aspects in their usual order first, whatever the order of the annotations
    assert [list(d) for d in cols.aspect_ratings(index)] == [list(d) for d in expected]
    assert {tuple(d)[:4] for d in expected if len(d) >= 4} == {aspects}
    assert list(expected[sum(map(len, rows[:12])) - 1]) == [*aspects, "style"]  # extra aspects last
    dead = np.array([rng.random() < 0.3 for _ in flat])
    kept = cols.drop(dead)
    survivors = [[c for c in cl if not dead[flat.index(c)]] for cl in rows]
    again = RatedColumns.of(survivors)
    assert kept.counts.tolist() == again.counts.tolist() and kept.responses == again.responses
    assert (
        kept.models == again.models
        and kept.ratings is None  # canonical ratings: only their numbers are carried over
        and kept.per.tolist() == again.per.tolist()
    )
    np.testing.assert_array_equal(kept.rating_values(), again.rating_values())
    np.testing.assert_array_equal(kept.mean_matrix(), again.mean_matrix())
    assert kept.aspect_ratings(np.arange(len(kept.responses))) == [
        aspect_ratings(c) for cl in survivors for c in cl
    ]


def test_curate_leaves_the_input_rows_as_they_were():
    import copy

    from notus.data.pipeline import CurateOptions, Loaded, curate

    rng = random.Random(6)
    rows = [
        {"instruction": f"question {i}", "completions": [_completion(rng) for _ in range(3)], "id": i}
        for i in range(30)
    ]
    rows[2]["completions"][0]["response"] = ""  # removed before binarizing: the row is copied, not edited
    rows[3]["completions"][1]["annotations"]["honesty"]["Rating"] = 4  # repaired on a copy
    before = copy.deepcopy(rows)
    loaded = Loaded.from_rows(rows, "ultrafeedback")
    canonical = copy.deepcopy([r.row for r in loaded.records])
    result = curate(loaded, CurateOptions(seed=1))
    assert rows == before and [r.row for r in loaded.records] == canonical  # the loaded rows too
    assert result.ledger.rows_in == 30 and result.rows
    again = curate(loaded, CurateOptions(seed=1))  # a second run on the same loaded rows: the same
    assert again.rows == result.rows and again.ledger.summary() == result.ledger.summary()
    assert again.completions_removed == result.completions_removed


def test_rows_quarantined_for_a_shared_id_leave_columns_aligned_with_the_kept_rows():
    """Every row passes the column check, but one reuses an id: the columns must be those of the
    kept rows, so each pair's responses come from its own prompt's completions."""
    rng = random.Random(8)
    rows = [
        {
            "instruction": f"q{i}",
            "id": i,
            "completions": [dict(_completion(rng), response=f"a{i}.{j}") for j in range(3)],
        }
        for i in range(6)
    ]
    rows[1]["id"] = 0  # same id as row 0, another instruction: quarantined
    records = [Record(r, "f.jsonl", i + 1) for i, r in enumerate(rows)]
    kept, rejects, _, cols = validate.validate_rated(records)
    assert [r["line"] for r in rejects] == [2] and len(kept) == 5
    assert cols.responses == [c["response"] for rec in kept for c in rec.row["completions"]]


def test_rating_numbers_accept_exactly_the_canonical_ratings():
    import math

    import pytest

    from notus.data.columns import _rating_numbers

    reference = {"1": 1.0, "2": 2.0, "3": 3.0, "4": 4.0, "5": 5.0, "N/A": math.nan}
    rng = random.Random(3)
    ratings = [rng.choice(list(reference)) for _ in range(500)]
    np.testing.assert_array_equal(_rating_numbers(ratings), [reference[r] for r in ratings])
    assert len(_rating_numbers([])) == 0
    for bad in ["0", "6", "12", "", " 4", "4 ", "N/A ", "n/a", "N/AN/A", "\x01", "1\x00", "é", "4.0", "NA"]:
        with pytest.raises(KeyError):
            _rating_numbers([*ratings[:7], bad, *ratings[7:9]])
    for bad in [4, None, 4.0, ["4"]]:
        with pytest.raises(TypeError):
            _rating_numbers(["4", bad])


def test_columns_switch_to_raw_ratings_at_the_first_block_with_a_non_canonical_one(monkeypatch):
    from notus.data import columns
    from notus.data.strategies import aspect_ratings

    monkeypatch.setattr(columns, "_BLOCK", 2)  # several blocks: canonical ones first, then raw
    rng = random.Random(9)
    aspects = ("instruction_following", "honesty", "truthfulness", "helpfulness")
    rows = [
        [
            {**_completion(rng), "annotations": {a: {"Rating": rng.choice("12345")} for a in aspects}}
            for _ in range(3)
        ]
        for _ in range(9)
    ]
    rows[5][1]["annotations"]["honesty"]["Rating"] = " 4"  # not canonical (the validator repairs it)
    rows[6][0]["annotations"] = {"style": {"Rating": "2"}, **rows[6][0]["annotations"]}  # unusual order
    cols = columns.RatedColumns.of(rows)
    flat = [c for cl in rows for c in cl]
    assert cols.values is None and cols.usual.sum() == len(rows) * 3 - 1
    assert cols.ratings == [v["Rating"] for c in flat for v in c["annotations"].values()]
    assert cols.aspect_ratings(np.arange(len(flat))) == [aspect_ratings(c) for c in flat]
    assert cols.clean().tolist() == [validate._clean_completions(cl) for cl in rows]
    with pytest.raises(KeyError):
        cols.rating_values()
    np.testing.assert_array_equal(
        mean_matrix([{"completions": cl} for cl in rows], cols),
        mean_matrix([{"completions": cl} for cl in rows]),
    )


def test_shared_values_keep_their_type_and_value():
    from notus.data.columns import _shared

    pool: dict = {}
    first = _shared([7.0, 9.5, None], pool, float)
    again = _shared([float("7"), 1, True, 9.5, "8"], pool, float)
    assert again == [7.0, 1, True, 9.5, "8"] and [type(x) for x in again] == [float, int, bool, float, str]
    assert again[0] is first[0] and again[3] is first[1]  # equal floats: one shared object
    names: dict = {}
    models = _shared(["m-" + str(i % 3) for i in range(9)], names, str)
    assert len({id(m) for m in models}) == 3 and models == ["m-0", "m-1", "m-2"] * 3
