"""AlpacaEval judging: the log-prob parser reproduces every recorded AlpacaEval 2 preference from GPT-4
Turbo's raw completions; order randomization maps verdicts back to the reference; prompts render;
unparsable verdicts stay None (counted, never a loss); the judge cache and cost accounting work."""

from __future__ import annotations

import json
import math

from notus.eval.alpaca_judge import annotate, parse_logprob, parse_ranking, render
from notus.eval.alpaca_metrics import win_rate
from notus.eval.judges import Judge
from notus.llm.contract import Completion


def test_logprob_parser_reproduces_recorded_alpaca_eval_2_preferences(shared_data):
    rows = json.loads(
        (shared_data / "alpaca_eval/annotations/weighted_alpaca_eval_gpt4_turbo/alpaca-7b.json").read_text()
    )
    checked = 0
    for row in rows:
        raw = row["raw_completion"]
        if not isinstance(raw, dict):
            continue
        shown = parse_logprob(Completion(raw["message"]["content"], logprobs=raw["logprobs"]["content"]))
        recorded = float(row["preference"])
        # the recorded preference is in reference-first order: the judge saw either order
        assert math.isclose(shown, recorded, abs_tol=1e-6) or math.isclose(3 - shown, recorded, abs_tol=1e-6)
        checked += 1
    assert checked == 802


def test_ranking_parser():
    assert parse_ranking("[{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}]") == 2.0
    assert parse_ranking("[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]") == 1.0
    assert parse_ranking("model_1 is better") is None
    assert parse_logprob(Completion("My")) is None and parse_logprob(Completion("M")) == 2.0


class FakeJudge:
    """Prefers whichever shown output contains 'good' (AlpacaEval 1 ranking format)."""

    name = "fake-judge"

    def __init__(self):
        self.seen = []

    def generate(self, conversations, params):
        out = []
        for conv in conversations:
            self.seen.append(conv)
            text = conv[-1]["content"]
            first = text.split('"model": "model_1"')[1].split('"model": "model_2"')[0]
            if "garbled" in text:
                out.append(Completion("not a ranking", 10, 3))
                continue
            rank_1 = 1 if "good" in first else 2
            out.append(
                Completion(
                    f"[{{'model': 'model_1', 'rank': {rank_1}}}, {{'model': 'model_2', 'rank': {3 - rank_1}}}]",
                    10,
                    5,
                )
            )
        return out


def test_random_order_is_mapped_back_and_unparsed_verdicts_are_counted(tmp_path):
    n = 40
    instructions = [{"instruction": f"question {i}"} for i in range(n)]
    reference = [
        {"instruction": f"question {i}", "output": "bad answer", "generator": "ref"} for i in range(n)
    ]
    model = [{"instruction": f"question {i}", "output": "good answer", "generator": "m"} for i in range(n)]
    model[0]["output"] = "garbled"
    judge = Judge(FakeJudge(), tmp_path / "cache.sqlite", (0.03, 0.06))
    rows = annotate(judge, instructions, reference, model, "alpaca_eval_v1", seed=1)
    swaps = [r["raw_completion"]["swapped"] for r in rows]
    assert 5 < sum(swaps) < n - 5  # both orders are used
    assert rows[0]["preference"] is None and all(r["preference"] == 2.0 for r in rows[1:])
    metrics = win_rate([r["preference"] for r in rows])
    assert metrics["n_total"] == n - 1 and metrics["n_unparsed"] == 1 and metrics["win_rate"] == 100.0
    usage = judge.usage()
    assert usage.prompt_tokens == 10 * n and math.isclose(
        usage.cost_usd, 10 * n / 1000 * 0.03 + (5 * (n - 1) + 3) / 1000 * 0.06
    )
    again = annotate(judge, instructions, reference, model, "alpaca_eval_v1", seed=1)  # all from the cache
    assert judge.usage().cache_hits == n and [r["preference"] for r in again] == [
        r["preference"] for r in rows
    ]


def test_v2_prompt_renders_as_chat_messages():
    messages = render("alpaca_eval_v2", "Say {hi}", "first {output_2}", "second")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert '"instruction": """Say {hi}"""' in user
    assert '"output": """first {output_2}"""' in user and '"output": """second"""' in user
    assert user.endswith("## Best Model Identifier")


def test_logprob_parser_ignores_non_finite_or_non_numeric_logprobs():
    def top(*pairs):
        return Completion("m", logprobs=[{"top_logprobs": [{"token": t, "logprob": lp} for t, lp in pairs]}])

    assert parse_logprob(top(("m", math.log(0.25)), ("M", math.log(0.75)))) == 1.75
    for bad in (math.nan, math.inf, "x", None, True, 0.5):
        # a server's NaN, inf, text or positive "log-prob" is ignored: never a NaN preference
        assert parse_logprob(top(("m", bad), ("M", math.log(0.5)))) == 2.0
        assert parse_logprob(top(("m", bad), ("M", bad))) is None
