"""Length-controlled win rate. alpaca_eval's per-instruction difficulty file is not in ../shared/data,
so the published LC win rates are checked through the formula: the LC win rate depends on the 805
difficulties only through their distribution; fitting that distribution (normal, 2 parameters) on
half of the models with published weights and LC win rates must predict the other half's published
LC win rates from their weights with `predict_lc_win_rate`."""

from __future__ import annotations

import csv
import statistics

from notus.eval.alpaca_metrics import load_annotations
from notus.eval.lc_winrate import add_length_controlled, fit_lc_win_rate, load_weights, predict_lc_win_rate

BASELINE = "gpt4_1106_preview"


def test_published_weights_predict_published_lc_win_rates(shared_data):
    from scipy.optimize import least_squares

    boards = shared_data / "alpaca_eval" / "leaderboards"
    weights = load_weights(boards / "length_controlled_v1_weights_baseline_gpt4_1106_preview.csv")
    with (boards / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv").open() as fh:
        published = {
            r[""]: float(r["length_controlled_winrate"])
            for r in csv.DictReader(fh)
            if r["length_controlled_winrate"]
        }
    models = sorted(m for m in weights if m in published and m != BASELINE)
    assert len(models) > 150
    quantiles = [statistics.NormalDist().inv_cdf((i + 0.5) / 805) for i in range(805)]

    def predict(params, names):
        difficulty = [params[0] + params[1] * q for q in quantiles]
        return [predict_lc_win_rate(weights, m, BASELINE, difficulty) for m in names]

    train, test = models[0::2], models[1::2]
    fit = least_squares(lambda p: [a - published[m] for a, m in zip(predict(p, train), train)], [0.0, 1.0])
    errors = [abs(a - published[m]) for a, m in zip(predict(fit.x, test), test)]
    assert max(errors) < 1.5 and statistics.median(errors) < 0.5
    assert predict_lc_win_rate(weights, BASELINE, BASELINE, [0.3, -1.0]) == 50.0


def test_glm_fit_and_missing_difficulty(shared_data):
    path = (
        shared_data / "alpaca_eval/annotations/weighted_alpaca_eval_gpt4_turbo/OpenHermes-2.5-Mistral-7B.json"
    )
    rows = load_annotations(path)
    row: dict = {}
    add_length_controlled(row, "OpenHermes-2.5-Mistral-7B", rows, None, None)  # offline: no difficulty
    assert row["length_controlled_winrate"] is None and "instruction_difficulty" in row["lc_note"]
    # with a flat difficulty the GLM still removes the length effect: longer baseline answers won more
    lc, w = fit_lc_win_rate(
        [len(r["output_1"]) for r in rows],
        [len(r["output_2"]) for r in rows],
        [r["preference"] for r in rows],
        [0.0] * 805,
    )
    assert w["np.tanh(std_delta_len)"] < 0  # model answers shorter than the baseline's lose more
    assert 10.34 < lc < 50  # removing the length penalty raises the raw 10.34 % win rate
