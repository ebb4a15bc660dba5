"""AlpacaEval leaderboard metrics, computed exactly as alpaca_eval does, from annotation files.

    notus eval alpaca --annotations ../shared/data/alpaca_eval/annotations/*/*.json --json

A preference encodes who won one instruction: `BASELINE_WINS` (1, output_1 = the reference),
`MODEL_WINS` (2, output_2 = the evaluated model), `DRAW` (1.5, or the legacy `LEGACY_DRAW` 0), any
value in [1, 2] for AlpacaEval 2's log-prob weighted judge, and `None` when the judge's verdict could
not be parsed. alpaca_eval's rules (metrics/helpers.py `describe_head2head`, main.py):

- draws: preferences exactly 1.5 or 0 (counted before anything is dropped); 0 is then read as 1.5;
- unparsed (`None`/NaN) and out-of-range preferences are left out of every other count;
- `win_rate` = 100 * mean(p - 1), `standard_error` = 100 * sample standard error (ddof 1) of p - 1;
- `n_wins` = #(p - 1 > 0.5), `n_wins_base` = #(p - 1 < 0.5), `n_total` = number of valid preferences;
- `discrete_win_rate`: the same after rounding each preference to 1 or 2 (1.5 stays a draw);
- `avg_length` = int(mean number of characters of the model's outputs), over all its outputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from notus.core.errors import DataError

BASELINE_WINS = 1.0
MODEL_WINS = 2.0
DRAW = 1.5
LEGACY_DRAW = 0.0


def parse_preference(value: Any, where: str) -> float | None:
    """A preference from an annotation file (number, numeric string, or null) as a float or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DataError(f"{where}: preference {value!r} is a boolean; expected 1, 2, 1.5/0 (draw) or null")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"{where}: preference {value!r} is not a number; expected 1 (baseline wins), 2 (model wins), "
            "1.5 or 0 (draw), a value in [1, 2] (weighted judge) or null (unparsed)"
        ) from None
    return None if math.isnan(number) else number


def _valid(p: float | None) -> bool:
    return p is not None and 1.0 <= p <= 2.0


def win_rate(preferences: list[float | None]) -> dict[str, float | int]:
    """Pure: AlpacaEval head-to-head metrics of one model against the baseline."""
    n_draws = sum(p in (DRAW, LEGACY_DRAW) for p in preferences if p is not None)
    values = [(DRAW if p == LEGACY_DRAW else p) for p in preferences]
    valid = [p - 1.0 for p in values if _valid(p)]  # in [0, 1]: 1 = model wins
    n = len(valid)
    mean = sum(valid) / n if n else float("nan")
    sem = math.sqrt(sum((x - mean) ** 2 for x in valid) / (n - 1)) / math.sqrt(n) if n > 1 else float("nan")
    discrete = [0.5 if x == 0.5 else float(round(x)) for x in valid]
    return {
        "win_rate": 100 * mean,
        "standard_error": 100 * sem,
        "n_wins": sum(x > 0.5 for x in valid),
        "n_wins_base": sum(x < 0.5 for x in valid),
        "n_draws": n_draws,
        "n_total": n,
        "n_unparsed": sum(not _valid(p) for p in values),
        "discrete_win_rate": 100 * sum(discrete) / n if n else float("nan"),
    }


def average_length(outputs: list[str]) -> int:
    """alpaca_eval's avg_length: integer part of the mean character count of the model's outputs."""
    return int(sum(len(o) for o in outputs) / len(outputs)) if outputs else 0


def read_json_list(path: str | Path, what: str) -> list:
    """A JSON file holding a list (alpaca_eval's annotations.json / model_outputs.json), or a clear error."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); expected alpaca_eval's {what} format") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of {what} objects, got {type(rows).__name__}")
    return rows


def load_annotations(path: str | Path) -> list[dict]:
    """Rows of an alpaca_eval annotations file, checked; preferences parsed into floats or None."""
    rows = read_json_list(path, "annotations")
    for i, row in enumerate(rows):
        where = f"{path} row {i}"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object, got {type(row).__name__}")
        missing = [
            k for k in ("instruction", "output_1", "output_2", "generator_2", "preference") if k not in row
        ]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)} (alpaca_eval annotation format)")
        row["preference"] = parse_preference(row["preference"], where)
    return rows


def leaderboard(annotations: list[dict]) -> dict[str, dict[str, Any]]:
    """Pure: one leaderboard row per evaluated model (`generator_2`) in a list of annotations."""
    by_model: dict[str, list[dict]] = {}
    for row in annotations:
        by_model.setdefault(str(row["generator_2"]), []).append(row)
    table = {}
    for model, rows in by_model.items():
        metrics = win_rate([r["preference"] for r in rows])
        metrics["avg_length"] = average_length([str(r["output_2"]) for r in rows])
        metrics["baseline"] = str(rows[0].get("generator_1", ""))
        metrics["annotator"] = str(rows[0].get("annotator", ""))
        table[model] = metrics
    return table
