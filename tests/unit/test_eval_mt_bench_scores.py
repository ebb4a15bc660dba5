"""MT-Bench scoring follows FastChat's show_result on the real GPT-4 judgments (duplicates kept, -1
dropped), and the `[[rating]]` parser reproduces every recorded score."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from notus.core.runs import read_jsonl
from notus.eval.mt_bench import judge_prompts, rating_from_judgment
from notus.eval.mt_bench_scores import mt_bench_scores


def fastchat_reference(records):
    """FastChat show_result (single) written with pandas, as an independent check."""
    import pandas as pd

    df = pd.DataFrame(records)[["model", "score", "turn"]]
    df = df[df["score"] != -1]
    turn_1 = df[df["turn"] == 1].groupby("model")["score"].mean()
    turn_2 = df[df["turn"] == 2].groupby("model")["score"].mean()
    overall = df.groupby("model")["score"].mean()
    return {m: (turn_1[m], turn_2[m], overall[m]) for m in overall.index}


def test_scores_follow_fastchat_rules_on_real_gpt4_judgments(shared_data):
    records = read_jsonl(shared_data / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    questions = read_jsonl(shared_data / "mt_bench" / "question.jsonl")
    table = mt_bench_scores(records, {q["question_id"]: q["category"] for q in questions})
    expected = fastchat_reference(records)
    assert set(table) == set(expected) == {"mistral-orpo", "mistral-orpo-mix", "mistral-orpo-capybara"}
    for model, (t1, t2, overall) in expected.items():
        row = table[model]
        assert math.isclose(row["turn_1"], t1) and math.isclose(row["turn_2"], t2)
        assert math.isclose(row["overall"], overall)
    orpo = table["mistral-orpo"]
    # judged twice: both judgments of every question count; the single -1 is reported, not scored
    assert (orpo["n_judgments"], orpo["n_duplicates"], orpo["n_failed"]) == (320, 160, 1)
    turn_2 = [
        r["score"] for r in records if r["model"] == "mistral-orpo" and r["turn"] == 2 and r["score"] != -1
    ]
    assert len(turn_2) == 159 and math.isclose(orpo["turn_2"], sum(turn_2) / 159)
    assert len(orpo["categories"]) == 8


def test_rating_parser_reproduces_every_recorded_score(shared_data):
    records = read_jsonl(shared_data / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    assert [rating_from_judgment(r["judgment"]) for r in records] == [r["score"] for r in records]
    assert rating_from_judgment("Rating: [[7.5]] then [[2]]") == 7.5
    assert rating_from_judgment("I'd say [6] out of 10") == 6  # FastChat's fallback pattern
    assert rating_from_judgment("no rating at all") == -1


def test_packaged_judge_prompts_are_fastchats_byte_for_byte(shared_data):
    upstream = {d["name"]: d for d in read_jsonl(shared_data / "mt_bench" / "judge_prompts.jsonl")}
    ours = judge_prompts()
    assert set(ours) == {"single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"}
    for name, prompt in ours.items():
        assert prompt == upstream[name]


def test_cli_scores_existing_judgments_as_json(shared_data, tmp_path):
    mt = shared_data / "mt_bench"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "notus",
            "eval",
            "mt-bench",
            "--judgments",
            str(mt / "model_judgment" / "gpt-4_single.jsonl"),
            "--questions",
            str(mt / "question.jsonl"),
            "--output",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    table = json.loads(out.stdout)
    assert set(table["mistral-orpo-capybara"]) >= {"turn_1", "turn_2", "overall"}
    assert "1 judgment(s) gave no [[rating]]" in out.stderr
    assert (tmp_path / "radar.png").stat().st_size > 10_000
