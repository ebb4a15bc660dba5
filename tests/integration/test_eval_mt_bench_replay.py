"""`notus eval mt-bench --answers` against a replay judge on 127.0.0.1: an OpenAI-compatible server that
answers each recorded GPT-4 `user_prompt` (../shared/data/mt_bench/model_judgment/gpt-4_single.jsonl)
with its recorded `judgment`, and fails any request whose prompts are not byte-identical to a
recorded one. The recorded scores must come back; a second run is served from the judgment cache."""

from __future__ import annotations

import json
import math
import sys
from http.server import BaseHTTPRequestHandler

import pytest
from eval_http import chat_answer, read_body, run_notus, send_json, serve

from notus.core.runs import read_jsonl
from notus.eval.mt_bench import judge_prompts
from notus.eval.mt_bench_scores import mt_bench_scores

MODELS = ("mistral-orpo", "mistral-orpo-mix", "mistral-orpo-capybara")


def make_handler(recorded: dict[str, dict], seen: list[str]):
    systems = {name: p["system_prompt"] for name, p in judge_prompts().items()}

    class ReplayJudge(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = read_body(self)
            messages = body["messages"]
            record = recorded.get(messages[-1]["content"]) if len(messages) == 2 else None
            ok = (
                record is not None
                and messages[0] == {"role": "system", "content": systems[record["judge"][1]]}
                and body["model"] == "gpt-4"
                and body["temperature"] == 0
                and body["max_tokens"] == 2048
            )
            if not ok:
                return send_json(
                    self, 400, {"error": {"message": "prompt differs from every recorded user_prompt"}}
                )
            seen.append(messages[-1]["content"])
            send_json(self, 200, chat_answer(record["judgment"], len(messages[-1]["content"]) // 4, 100))

        def log_message(self, *args):
            pass

    return ReplayJudge


@pytest.fixture()
def replay_judge(shared_data):
    records = read_jsonl(shared_data / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    recorded = {r["user_prompt"]: r for r in records}
    seen: list[str] = []
    with serve(make_handler(recorded, seen)) as url:
        yield url, records, seen


def run_cli(shared_data, url, out):
    mt = shared_data / "mt_bench"
    cmd = [
        sys.executable,
        "-m",
        "notus",
        "eval",
        "mt-bench",
        "--answers",
        *[str(mt / "model_answer" / f"{m}.jsonl") for m in MODELS],
        "--questions",
        str(mt / "question.jsonl"),
        "--reference-answers",
        str(mt / "reference_answer" / "gpt-4.jsonl"),
        "--judge-base-url",
        url,
        "--judge-model",
        "gpt-4",
        "--judge-api-key",
        "test-key",
        "--judge-max-retries",
        "2",
        "--output",
        str(out),
        "--json",
    ]
    return run_notus(cmd[3:])


def test_replayed_gpt4_judge_reproduces_recorded_scores(shared_data, replay_judge, tmp_path):
    url, records, seen = replay_judge
    result = run_cli(shared_data, url, tmp_path)
    assert len(seen) == 480 and len(set(seen)) == 480  # 3 models x 80 questions x 2 turns, all byte-identical
    ours = read_jsonl(tmp_path / "model_judgment" / "gpt-4_single.jsonl")
    recorded = {(r["user_prompt"]): r for r in records}
    for r in ours:
        rec = recorded[r["user_prompt"]]
        assert (r["model"], r["question_id"], r["turn"], r["score"], r["judge"]) == (
            rec["model"],
            rec["question_id"],
            rec["turn"],
            rec["score"],
            rec["judge"],
        )
    # the recorded scores of the judgments whose prompts our run sent, per model and turn
    expected = mt_bench_scores([recorded[p] for p in seen])
    table = json.loads(result.stdout)
    for model in MODELS:
        for key in ("turn_1", "turn_2", "overall"):
            assert math.isclose(table[model][key], expected[model][key])
    # mix and capybara were judged once: their scores are exactly the published FastChat ones
    published = mt_bench_scores(records)
    for model in ("mistral-orpo-mix", "mistral-orpo-capybara"):
        assert math.isclose(table[model]["overall"], published[model]["overall"])
    assert "480 requests (0 from cache)" in result.stderr and "cost $" in result.stderr

    seen.clear()
    again = run_cli(shared_data, url, tmp_path)
    assert seen == [] and "480 requests (480 from cache)" in again.stderr
    assert json.loads(again.stdout) == table
