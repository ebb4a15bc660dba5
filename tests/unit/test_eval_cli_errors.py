"""Bad input to `notus eval` fails with exit 2 and a message naming file, line/row and field (no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def notus_eval(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notus", "eval", *args], capture_output=True, text=True, env=env
    )


def test_errors_name_the_problem(shared_data, tmp_path):
    mt = shared_data / "mt_bench"
    result = notus_eval("mt-bench", "--questions", str(mt / "question.jsonl"))
    assert result.returncode == 2 and "exactly one of --model" in result.stderr

    result = notus_eval("alpaca", "--annotations", str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "missing.json: annotations file not found" in result.stderr

    bad = tmp_path / "answers.jsonl"
    good = (mt / "model_answer" / "mistral-orpo.jsonl").read_text().splitlines()[0]
    bad.write_text(good + "\n" + json.dumps({"question_id": 82, "model_id": "x"}) + "\n")
    result = notus_eval("mt-bench", "--answers", str(bad), "--questions", str(mt / "question.jsonl"))
    assert result.returncode == 2 and "answers.jsonl:2: missing field(s) choices" in result.stderr

    result = notus_eval(
        "mt-bench",
        "--answers",
        str(mt / "model_answer" / "mistral-orpo.jsonl"),
        "--questions",
        str(mt / "question.jsonl"),
        "--question-ids",
        "111",
    )
    assert (
        result.returncode == 2
        and "question 111 (math)" in result.stderr
        and "--reference-answers" in result.stderr
    )

    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = notus_eval(
        "mt-bench",
        "--answers",
        str(mt / "model_answer" / "mistral-orpo.jsonl"),
        "--questions",
        str(mt / "question.jsonl"),
        "--question-ids",
        "81",
        "--judge-model",
        "gpt-4",
        "--output",
        str(tmp_path / "o"),
        env=env,
    )
    assert result.returncode == 2 and "OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
