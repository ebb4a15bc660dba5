"""AlpacaEval leaderboard metrics, computed exactly as alpaca_eval does, from annotation files.

    notus eval alpaca --annotations ../shared/data/alpaca_eval/annotations/*/*.json --json

A preference encodes who won one instruction: `BASELINE_WINS` (1, output_1 = the reference),
`MODEL_WINS` (2, output_2 = the evaluated model), `DRAW` (1.5, or the legacy `LEGACY_DRAW` 0), any
value in [1, 2] for AlpacaEval 2's log-prob weighted judge, and `None` when the judge's verdict could
not be parsed. alpaca_eval's rules (metrics/helpers.py `describe_head2head`, main.py):

- draws: preferences exactly 1.5 or 0 (counted before anything is dropped); 0 is then read as 1.5;
- unparsed (`None`) preferences are left out of every other count (`n_unparsed`);
- notus adds: any other value (a boolean, a string, NaN, a number outside [1, 2] other than 0) is
  invalid: counted in `n_invalid`, left out of every other count, and reported with its location;
- `win_rate` = 100 * mean(p - 1), `standard_error` = 100 * sample standard error (ddof 1) of p - 1;
- `n_wins` = #(p - 1 > 0.5), `n_wins_base` = #(p - 1 < 0.5), `n_total` = number of valid preferences;
- `discrete_win_rate`: the same after rounding each preference to 1 or 2 (1.5 stays a draw);
- `avg_length` = int(mean number of characters of the model's outputs), over all its outputs.
A model with no valid preference has `win_rate`, `standard_error` and `discrete_win_rate` None
(never NaN, so the JSON output stays strict).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.eval.files import brief, read_json, summarize

BASELINE_WINS = 1.0
MODEL_WINS = 2.0
DRAW = 1.5
LEGACY_DRAW = 0.0


def preference_problem(value: Any) -> str | None:
    """Why a preference is invalid, or None when it is valid or null (unparsed)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"preference {brief(value)} is not a number"
    if not math.isfinite(value) or not (value == LEGACY_DRAW or BASELINE_WINS <= value <= MODEL_WINS):
        return f"preference {brief(value)} is not 1, 2, 1.5 or 0 (draw), or in [1, 2]"
    return None


def _valid(p: Any) -> bool:
    return p is not None and preference_problem(p) is None


def win_rate(preferences: list[Any]) -> dict[str, float | int | None]:
    """Pure: AlpacaEval head-to-head metrics of one model against the baseline."""
    good = [p for p in preferences if _valid(p)]
    n_draws = sum(p in (DRAW, LEGACY_DRAW) for p in good)
    valid = [(DRAW if p == LEGACY_DRAW else p) - 1.0 for p in good]  # in [0, 1]: 1 = model wins
    n = len(valid)
    mean = sum(valid) / n if n else None
    sem = math.sqrt(sum((x - mean) ** 2 for x in valid) / (n - 1)) / math.sqrt(n) if n > 1 else None
    discrete = [0.5 if x == 0.5 else float(round(x)) for x in valid]
    return {
        "win_rate": None if mean is None else 100 * mean,
        "standard_error": None if sem is None else 100 * sem,
        "n_wins": sum(x > 0.5 for x in valid),
        "n_wins_base": sum(x < 0.5 for x in valid),
        "n_draws": n_draws,
        "n_total": n,
        "n_unparsed": sum(p is None for p in preferences),
        "n_invalid": sum(p is not None and not _valid(p) for p in preferences),
        "discrete_win_rate": 100 * sum(discrete) / n if n else None,
    }


def average_length(outputs: list[str]) -> int:
    """alpaca_eval's avg_length: integer part of the mean character count of the model's outputs."""
    return int(sum(len(o) for o in outputs) / len(outputs)) if outputs else 0


def read_json_list(path: str | Path, what: str, allow_empty: bool = False) -> list:
    """A JSON file holding a list (alpaca_eval's annotations.json / model_outputs.json), or a clear error."""
    rows = read_json(path, what)
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of {what} objects, got {type(rows).__name__}")
    if not rows and not allow_empty:
        hint = " (or --allow-empty)" if what == "annotations" else ""
        raise DataError(f"{path}: no {what}; give a non-empty file{hint}")
    return rows


ANNOTATION_TEXT_FIELDS = ("instruction", "output_1", "output_2", "generator_2")


def load_annotations(path: str | Path, allow_empty: bool = False) -> list[dict]:
    """Rows of an alpaca_eval annotations file, checked. A row without the format's fields (or with
    non-text outputs) is an error, all of them listed; a row with an invalid preference is kept
    (`win_rate` counts it as invalid; `invalid_preferences` says where it is)."""
    rows = read_json_list(path, "annotations", allow_empty)
    problems = []
    for i, row in enumerate(rows):
        where = f"{path} row {i}"
        if not isinstance(row, dict):
            problems.append(f"{where}: a JSON {type(row).__name__}, not an object")
            continue
        missing = [k for k in (*ANNOTATION_TEXT_FIELDS, "preference") if k not in row]
        wrong = [k for k in ANNOTATION_TEXT_FIELDS if k in row and not isinstance(row[k], str)]
        if missing:
            problems.append(f"{where}: missing field(s) {', '.join(missing)}")
        elif wrong:
            problems.append(f"{where}: field(s) {', '.join(wrong)} must be text")
    if problems:
        raise DataError(
            f"{len(problems)} problem(s) in alpaca_eval annotations (fields {', '.join(ANNOTATION_TEXT_FIELDS)}, "
            f"preference): {summarize(problems)}"
        )
    return rows


def invalid_preferences(rows: list[dict], path: str | Path) -> list[str]:
    """`file row i: why` for each annotation whose preference is invalid (not null, not a valid value)."""
    return [
        f"{path} row {i}: {why}"
        for i, row in enumerate(rows)
        if (why := preference_problem(row["preference"]))
    ]


def leaderboard(annotations: list[dict]) -> dict[str, dict[str, Any]]:
    """Pure: one leaderboard row per evaluated model (`generator_2`) in a list of annotations."""
    by_model: dict[str, list[dict]] = {}
    for row in annotations:
        by_model.setdefault(str(row["generator_2"]), []).append(row)
    table = {}
    for model, rows in by_model.items():
        metrics = win_rate([r["preference"] for r in rows])
        metrics["avg_length"] = average_length([r["output_2"] for r in rows])
        metrics["baseline"] = str(rows[0].get("generator_1", ""))
        metrics["annotator"] = str(rows[0].get("annotator", ""))
        table[model] = metrics
    return table
