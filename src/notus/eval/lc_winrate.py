"""AlpacaEval 2 length-controlled win rate (alpaca_eval's `length_controlled_v1` GLM).

    lc = predict_lc_win_rate(load_weights(csv), "zephyr-7b-beta", "gpt4_1106_preview", difficulty)

The GLM (alpaca_eval metrics/glm_winrate.py) models the probability that the model beats the baseline on
instruction i as logistic(w_len * tanh(std_delta_len_i) + w_diff * difficulty_i + w_gamed), where
std_delta_len = (len(baseline output) - len(model output)) / its standard deviation over the
instructions, `difficulty_i` is alpaca_eval's per-instruction difficulty (instruction_difficulty.csv on
the Hub dataset tatsu-lab/alpaca_eval) and `w_gamed` is the intercept of non-gamed models. The
length-controlled win rate is the mean predicted preference with the length term set to 0; between a
model and a baseline with fitted weights it is mean_i logistic(dw_gamed + dw_diff * difficulty_i).

Two ways to get it here:
- `predict_lc_win_rate`: from published weights (leaderboards/length_controlled_v1_weights_*.csv);
- `fit_lc_win_rate`: fit the GLM on one model's annotations by maximum likelihood with the soft
  (continuous) preferences as targets. alpaca_eval also adds its "gamed" verbose/concise baseline
  annotations with weight 0.2 and picks an L1 penalty by 5-fold CV; those annotations are not
  available offline, so this fit is unregularized (documented in docs/eval.md).
Both need the instruction difficulty: `--instruction-difficulty FILE`, or the Hub file when online.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from pathlib import Path

from notus.core.errors import DataError
from notus.eval.alpaca_metrics import preference_problem
from notus.eval.files import brief, read_text

LEN, DIFF, GAMED = "np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)"


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _read_csv(path: str | Path, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Rows of a CSV file that has `columns`; any problem is one DataError naming the file."""
    try:
        rows = list(csv.DictReader(io.StringIO(read_text(path, what), newline="")))
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc}); expected the {what} format") from None
    if not rows or not set(columns) <= set(rows[0]):
        raise DataError(f"{path}: expected a {what} CSV with the columns {', '.join(map(repr, columns))}")
    return rows


def _number(row: dict[str, str], column: str, path: str | Path, line: int) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{path}:{line}: column {column!r} is {brief(row[column])}, not a finite number")
    return value


@functools.lru_cache(maxsize=8)
def load_weights(path: str | Path) -> dict[str, dict[str, float]]:
    """alpaca_eval GLM weights CSV: model -> {feature: weight}."""
    rows = _read_csv(path, ("", LEN, DIFF, GAMED), "alpaca_eval GLM weights")
    return {r[""]: {k: _number(r, k, path, n) for k in (LEN, DIFF, GAMED)} for n, r in enumerate(rows, 2)}


@functools.lru_cache(maxsize=8)
def load_difficulty(path: str | Path | None) -> list[float] | None:
    """Per-instruction difficulty (alpaca_eval instruction_difficulty.csv), from a file or the Hub
    (asked once per process, so an offline machine waits for the Hub at most once)."""
    if path is None:
        try:
            import socket

            from huggingface_hub import hf_hub_download

            socket.create_connection(("huggingface.co", 443), timeout=3).close()  # offline: fail fast

            path = hf_hub_download("tatsu-lab/alpaca_eval", "instruction_difficulty.csv", repo_type="dataset")
        except Exception:  # offline or no access: the LC win rate is then reported as unavailable
            return None
    rows = _read_csv(path, (DIFF,), "alpaca_eval instruction_difficulty.csv")
    return [_number(r, DIFF, path, n) for n, r in enumerate(rows, 2)]


def predict_lc_win_rate(
    weights: dict[str, dict[str, float]], model: str, baseline: str, difficulty: list[float]
) -> float:
    """Pure: alpaca_eval's predict_winrate, in percent."""
    for name in (model, baseline):
        if name not in weights:
            raise DataError(f"no GLM weights for {name!r} in the weights file")
    d_gamed = weights[model][GAMED] - weights[baseline][GAMED]
    d_diff = weights[model][DIFF] - weights[baseline][DIFF]
    return 100 * sum(_logistic(d_gamed + d_diff * x) for x in difficulty) / len(difficulty)


def fit_lc_win_rate(
    len_baseline: list[int], len_model: list[int], preferences: list[float | None], difficulty: list[float]
) -> tuple[float, dict[str, float]]:
    """Fit the GLM on one model's annotations; (LC win rate in percent, weights)."""
    import numpy as np
    from scipy.optimize import minimize

    delta = np.array(len_baseline, float) - np.array(len_model, float)
    std = delta.std(ddof=1) or 1.0
    pref = np.array([np.nan if p is None else (1.5 if p == 0 else p) - 1 for p in preferences], float)
    diff = np.array(difficulty[: len(pref)], float)
    x = np.stack([np.tanh(delta / std), diff, np.ones_like(diff)], axis=1)
    keep = ~np.isnan(pref)
    x_fit, y = x[keep], pref[keep]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x_fit @ w
        p = 1 / (1 + np.exp(-z))
        nll = np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y))
        return float(nll), x_fit.T @ (p - y) / len(y)

    w = minimize(loss, np.zeros(3), jac=True, method="L-BFGS-B").x
    lc = float(np.mean(1 / (1 + np.exp(-(x[:, 1] * w[1] + w[2])))))
    return 100 * lc, {LEN: float(w[0]), DIFF: float(w[1]), GAMED: float(w[2])}


def add_length_controlled(
    row: dict, model: str, annotations: list[dict], weights_csv: str | None, difficulty_csv: str | None
) -> None:
    """Add `length_controlled_winrate` (and how it was obtained) to a leaderboard row, or say why not."""
    rows = [a for a in annotations if str(a["generator_2"]) == model]
    row["length_controlled_winrate"] = None
    if all(a["preference"] is None or preference_problem(a["preference"]) for a in rows):
        row["lc_note"] = "no valid preference to fit"
        return
    difficulty = load_difficulty(difficulty_csv)
    if difficulty is None:
        row["lc_note"] = (
            "needs alpaca_eval's instruction_difficulty.csv (--instruction-difficulty, or the Hub)"
        )
        return
    baseline = str(rows[0].get("generator_1", ""))
    if weights_csv:
        weights = load_weights(weights_csv)
        if model in weights and baseline in weights:
            row["length_controlled_winrate"] = predict_lc_win_rate(weights, model, baseline, difficulty)
            row["lc_note"] = f"predicted from published GLM weights ({Path(weights_csv).name})"
            return
    if len(rows) > len(difficulty):
        raise DataError(
            f"{model}: {len(rows)} annotations but only {len(difficulty)} instruction difficulties"
        )
    lc, weights_fit = fit_lc_win_rate(
        [len(str(a["output_1"])) for a in rows],
        [len(str(a["output_2"])) for a in rows],
        [a["preference"] if preference_problem(a["preference"]) is None else None for a in rows],
        difficulty,
    )
    row["length_controlled_winrate"], row["lc_weights"] = lc, weights_fit
    row["lc_note"] = "GLM fitted on these annotations (unregularized, no gamed baselines)"
