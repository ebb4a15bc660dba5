"""MT-Bench with a served answerer and a served judge (one OpenAI-compatible server on 127.0.0.1):
FastChat's two-turn protocol (turn 2 sees turn 1 and the model's own answer) and per-category
temperatures go through the model contract; `[[rating]]` verdicts are scored."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from eval_http import chat_answer, read_body, run_notus, send_json, serve


def make_handler(calls):
    class Server(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = read_body(self)
            calls.append(body)
            if body["model"] == "judge":
                text = (
                    "Fine answer. Rating: [[7]]"
                    if "Hawaii" in body["messages"][-1]["content"]
                    else "No rating here."
                )
            else:
                text = f"answer {len(body['messages'])} at t={body['temperature']}"
            send_json(self, 200, chat_answer(text, 10, 5))

        def log_message(self, *args):
            pass

    return Server


def test_mt_bench_with_served_answerer_and_judge(shared_data, tmp_path):
    calls: list[dict] = []
    mt = shared_data / "mt_bench"
    with serve(make_handler(calls)) as url:
        result = run_notus(
            [
                "eval",
                "mt-bench",
                "--model",
                "answerer",
                "--model-base-url",
                url,
                "--questions",
                str(mt / "question.jsonl"),
                "--question-ids",
                "81,111",
                "--reference-answers",
                str(mt / "reference_answer/gpt-4.jsonl"),
                "--judge-model",
                "judge",
                "--judge-base-url",
                url,
                "--judge-api-key",
                "k",
                "--output",
                str(tmp_path),
                "--json",
            ],
        )
    answers = {
        a["question_id"]: a["choices"][0]["turns"]
        for a in map(json.loads, (tmp_path / "model_answer/answerer.jsonl").read_text().splitlines())
    }
    assert answers == {
        81: ["answer 1 at t=0.7", "answer 3 at t=0.7"],
        111: ["answer 1 at t=0.0", "answer 3 at t=0.0"],
    }
    turn_2 = [c for c in calls if c["model"] == "answerer" and len(c["messages"]) == 3]
    assert all(
        c["messages"][1] == {"role": "assistant", "content": "answer 1 at t=" + str(c["temperature"])}
        for c in turn_2
    )
    assert all(c["max_tokens"] == 1024 for c in calls if c["model"] == "answerer")
    scores = json.loads(result.stdout)["answerer"]
    # question 81's two judgments rate 7; question 111's two give no rating: counted, not scored
    assert (scores["turn_1"], scores["turn_2"], scores["overall"], scores["n_failed"]) == (7.0, 7.0, 7.0, 2)
    assert "2 judgment(s) gave no [[rating]]" in result.stderr
