"""AlpacaEval 2 end to end over HTTP: `notus eval alpaca --model-outputs alpaca-7b.json --reference
gpt4_1106_preview.json --judge-base-url ...` against a replay judge on 127.0.0.1 that answers each
prompt with GPT-4 Turbo's recorded first-token log-probs for that instruction (m/M exchanged when our
random order differs from the recorded one). The published AlpacaEval 2 row of alpaca-7b must come
back (win rate, standard error, counts, length to 1e-3)."""

from __future__ import annotations

import csv
import json
import math
from http.server import BaseHTTPRequestHandler

from eval_http import chat_answer, read_body, run_notus, send_json, serve

from notus.eval.alpaca_judge import parse_logprob, render
from notus.llm.contract import Completion

SWAP = {"m": "M", "M": "m"}


def recorded_verdicts(annotations):
    """instruction -> (reference output, first-token log-probs, whether the reference was shown first)."""
    table = {}
    for row in annotations:
        raw = row["raw_completion"]
        if isinstance(raw, dict):
            content = raw["logprobs"]["content"]
            shown = parse_logprob(Completion("", logprobs=content))
            ref_first = math.isclose(shown, float(row["preference"]), abs_tol=1e-9)
        else:  # three recorded draws without a raw completion: equal mass on m and M gives 1.5
            half = math.log(0.5)
            content = [
                {
                    "token": "m",
                    "logprob": half,
                    "top_logprobs": [{"token": "m", "logprob": half}, {"token": "M", "logprob": half}],
                }
            ]
            ref_first = True
        table[row["instruction"]] = (row["output_1"], content, ref_first)
    return table


def make_handler(table, system_prompt, seen):
    class ReplayJudge(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = read_body(self)
            system, user = body["messages"]
            instruction = user["content"].split('"instruction": """', 1)[1].split('""",\n}', 1)[0]
            ok = (
                instruction in table
                and system["content"] == system_prompt
                and body["max_tokens"] == 1
                and body["temperature"] == 1
                and body["logprobs"] is True
                and body["top_logprobs"] == 5
            )
            if not ok:
                return send_json(self, 400, {"error": {"message": "unexpected request"}})
            reference, content, recorded_ref_first = table[instruction]
            first_block = user["content"].split('"model_identifier": "M"')[0]
            ref_first = f'"output": """{reference}"""' in first_block
            if ref_first != recorded_ref_first:
                content = [
                    {
                        **c,
                        "token": SWAP.get(c["token"], c["token"]),
                        "top_logprobs": [
                            {**t, "token": SWAP.get(t["token"], t["token"])} for t in c["top_logprobs"]
                        ],
                    }
                    for c in content
                ]
            seen.append(instruction)
            answer = chat_answer(content[0]["token"], len(user["content"]) // 4, 1, logprobs=content)
            send_json(self, 200, answer)

        def log_message(self, *args):
            pass

    return ReplayJudge


def test_alpaca_eval_2_published_row_from_replayed_judge(shared_data, tmp_path):
    ae = shared_data / "alpaca_eval"
    annotations = json.loads((ae / "annotations/weighted_alpaca_eval_gpt4_turbo/alpaca-7b.json").read_text())
    system_prompt = render("alpaca_eval_v2", "x", "y", "z")[0]["content"]
    seen: list[str] = []
    with serve(make_handler(recorded_verdicts(annotations), system_prompt, seen)) as url:
        result = run_notus(
            [
                "eval",
                "alpaca",
                "--model-outputs",
                str(ae / "model_outputs/alpaca-7b.json"),
                "--instructions",
                str(ae / "model_outputs/gpt4_1106_preview.json"),
                "--reference",
                str(ae / "model_outputs/gpt4_1106_preview.json"),
                "--judge-base-url",
                url,
                "--judge-model",
                "gpt-4-1106-preview",
                "--judge-api-key",
                "test",
                "--judge-max-retries",
                "2",
                "--judge-concurrency",
                "16",
                "--output",
                str(tmp_path),
                "--json",
            ],
            env={"HF_HUB_OFFLINE": "1"},
        )
    assert len(seen) == 805
    row = json.loads(result.stdout)["alpaca-7b"]
    with (ae / "leaderboards/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv").open() as fh:
        published = next(r for r in csv.DictReader(fh) if r[""] == "alpaca-7b")
    for field in ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_total", "avg_length"):
        assert math.isclose(float(row[field]), float(published[field]), abs_tol=1e-3), field
    ours = json.loads((tmp_path / "annotations.json").read_text())
    swapped = sum(a["raw_completion"]["swapped"] for a in ours)
    assert 300 < swapped < 505  # the order really was randomized
    assert "805 requests (0 from cache)" in result.stderr and "cost $" in result.stderr
