"""AlpacaEval metrics: every published annotation file reproduces its published leaderboard row (1e-3),
through the pure functions and through `notus eval alpaca --annotations ... --json`."""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import subprocess
import sys

import pytest

from notus.core.errors import DataError
from notus.eval.alpaca_metrics import (
    DRAW,
    LEGACY_DRAW,
    invalid_preferences,
    leaderboard,
    load_annotations,
    win_rate,
)

FIELDS = ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_total", "avg_length")


def published(shared_data, annotator: str) -> dict[str, dict[str, str]]:
    path = shared_data / "alpaca_eval" / "leaderboards" / f"{annotator}_leaderboard.csv"
    with path.open() as fh:
        return {row[""]: row for row in csv.DictReader(fh)}


def annotation_files(shared_data):
    files = sorted((shared_data / "alpaca_eval" / "annotations").glob("*/*.json"))
    assert len(files) == 6
    return files


def assert_row(ours: dict, theirs: dict[str, str]) -> None:
    for field in FIELDS + ("discrete_win_rate",):
        assert math.isclose(float(ours[field]), float(theirs[field]), abs_tol=1e-3), field


def test_every_annotation_file_reproduces_its_published_row(shared_data):
    for path in annotation_files(shared_data):
        rows = leaderboard(load_annotations(path))
        assert len(rows) == 1
        ((model, ours),) = rows.items()
        assert_row(ours, published(shared_data, path.parent.name)[model])


def test_cli_json_reproduces_every_published_row(shared_data):
    files = annotation_files(shared_data)
    out = subprocess.run(
        [sys.executable, "-m", "notus", "eval", "alpaca", "--annotations", *map(str, files), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    rows = json.loads(out.stdout)
    assert len(rows) == len(files)  # alpaca-7b appears under both annotators: keys stay apart
    for row in rows.values():
        model = next(
            m for m in published(shared_data, row["annotator"]) if row["file"].endswith(f"/{m}.json")
        )
        assert_row(row, published(shared_data, row["annotator"])[model])


def test_win_rate_rules_draws_nulls_and_continuous_preferences():
    m = win_rate([2.0, 1.0, DRAW, LEGACY_DRAW, None, 2.0])
    assert (m["n_wins"], m["n_wins_base"], m["n_draws"], m["n_total"], m["n_unparsed"]) == (2, 1, 2, 5, 1)
    assert math.isclose(m["win_rate"], 100 * (1 + 0 + 0.5 + 0.5 + 1) / 5)
    continuous = win_rate([1.9, 1.2, 1.5])
    assert continuous["n_wins"] == 1 and continuous["n_wins_base"] == 1 and continuous["n_draws"] == 1
    assert math.isclose(continuous["win_rate"], 100 * (0.9 + 0.2 + 0.5) / 3)
    assert math.isclose(continuous["discrete_win_rate"], 100 * (1 + 0 + 0.5) / 3)
    assert math.isclose(continuous["standard_error"], 100 * statistics.stdev([0.9, 0.2, 0.5]) / math.sqrt(3))


def test_bad_preferences_are_counted_invalid_with_file_and_row(tmp_path):
    path = tmp_path / "ann.json"
    row = {"instruction": "i", "output_1": "a", "output_2": "b", "generator_2": "m"}
    prefs = ["abc", True, 3, -1, 0.5, "2", 2, None]
    path.write_text(json.dumps([{**row, "preference": p} for p in prefs]))
    rows = load_annotations(path)
    problems = invalid_preferences(rows, path)
    assert len(problems) == 6 and problems[0].endswith("ann.json row 0: preference 'abc' is not a number")
    metrics = leaderboard(rows)["m"]
    assert (metrics["n_total"], metrics["n_invalid"], metrics["n_unparsed"], metrics["win_rate"]) == (
        1,
        6,
        1,
        100.0,
    )
    path.write_text(json.dumps([{"instruction": "i", "output_1": "a"}]))
    with pytest.raises(DataError, match="missing field"):
        load_annotations(path)
