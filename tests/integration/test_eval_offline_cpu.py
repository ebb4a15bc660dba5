"""Offline CPU acceptance on small subsets: AlpacaEval and MT-Bench with the embedded model as both
answerer and judge, lm-eval tasks from the local benchmark files on the tiny model, preference
accuracy. Subsets are built at test time from ../shared/data (nothing copied into the repo)."""

from __future__ import annotations

import json
import subprocess

import pytest
from eval_http import run_notus

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def notus(*args: str) -> subprocess.CompletedProcess:
    return run_notus(["eval", *args], env=OFFLINE)


@pytest.mark.slow
def test_alpaca_eval_subset_embedded_answerer_and_judge(shared_data, embedded_model_dir, tmp_path):
    rows = json.loads((shared_data / "alpaca_eval/model_outputs/text_davinci_003.json").read_text())
    subset = tmp_path / "subset.json"
    subset.write_text(json.dumps([rows[i] for i in (199, 113, 370)]))  # the three shortest pairs
    out = tmp_path / "alpaca"
    result = notus(
        "alpaca",
        "--model",
        "smollm2-135m-instruct",
        "--instructions",
        str(subset),
        "--reference",
        str(subset),
        "--judge-model",
        "smollm2-135m-instruct",
        "--max-new-tokens",
        "16",
        "--output",
        str(out),
        "--json",
    )
    outputs = json.loads((out / "model_outputs.json").read_text())
    assert [o["instruction"] for o in outputs] == [r["instruction"] for r in json.loads(subset.read_text())]
    assert all(o["generator"] == "smollm2-135m-instruct" and o["output"] for o in outputs)
    annotations = json.loads((out / "annotations.json").read_text())
    assert {a["generator_1"] for a in annotations} == {"text_davinci_003"}
    assert all(a["annotator"] == "weighted_alpaca_eval_gpt4_turbo" for a in annotations)
    assert all(a["preference"] is None or 1 <= a["preference"] <= 2 for a in annotations)
    row = json.loads(result.stdout)["smollm2-135m-instruct"]
    assert row["n_total"] + row["n_unparsed"] == 3 and row["avg_length"] > 0
    assert "judge smollm2-135m-instruct: 3 requests (0 from cache)" in result.stderr


@pytest.mark.slow
def test_mt_bench_subset_embedded_answerer_and_judge(shared_data, embedded_model_dir, tmp_path):
    mt = shared_data / "mt_bench"
    out = tmp_path / "mt"
    result = notus(
        "mt-bench",
        "--model",
        "smollm2-135m-instruct",
        "--questions",
        str(mt / "question.jsonl"),
        "--question-ids",
        "81,111",
        "--reference-answers",
        str(mt / "reference_answer/gpt-4.jsonl"),
        "--judge-model",
        "smollm2-135m-instruct",
        "--max-new-tokens",
        "16",
        "--judge-max-tokens",
        "16",
        "--output",
        str(out),
        "--json",
    )
    answers = [
        json.loads(line)
        for line in (out / "model_answer/smollm2-135m-instruct.jsonl").read_text().splitlines()
    ]
    assert [a["question_id"] for a in answers] == [81, 111]
    assert all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    judgments = [
        json.loads(line)
        for line in (out / "model_judgment/smollm2-135m-instruct_single.jsonl").read_text().splitlines()
    ]
    assert sorted((j["question_id"], j["turn"], j["judge"][1]) for j in judgments) == [
        (81, 1, "single-v1"),
        (81, 2, "single-v1-multi-turn"),
        (111, 1, "single-math-v1"),
        (111, 2, "single-math-v1-multi-turn"),
    ]
    assert all(j["score"] == -1 or 0 <= j["score"] <= 10 for j in judgments)
    scores = json.loads(result.stdout)["smollm2-135m-instruct"]
    assert scores["n_judgments"] == 4 and scores["n_failed"] == sum(j["score"] == -1 for j in judgments)
    assert set(scores) >= {"turn_1", "turn_2", "overall"}


def test_harness_offline_tasks_on_tiny_model(shared_data, tiny_model_dir, tmp_path):
    out = tmp_path / "harness"
    result = notus(
        "harness",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "arc_challenge,hellaswag,truthfulqa_mc2,winogrande,notus_mmlu_astronomy",
        "--offline-data",
        str(shared_data / "benchmarks"),
        "--limit",
        "5",
        "--batch-size",
        "8",
        "--output",
        str(out),
        "--compare",
        str(shared_data / "reference_results/notus-7b-v1"),
        "--json",
    )
    summary = json.loads(result.stdout)
    for task in ("arc_challenge", "hellaswag", "truthfulqa_mc2", "notus_mmlu_astronomy"):
        assert 0 <= summary["results"][task]["value"] <= 1, task
    assert (
        summary["results"]["arc_challenge"]["shots"] == 25 and summary["results"]["hellaswag"]["shots"] == 10
    )
    assert summary["skipped"] == {"winogrande": "no local data for this task (runs from the Hub when online)"}
    assert summary["average_is_complete"] is False
    assert abs(summary["reference"]["scores"]["arc_challenge"] - 0.6424914675767918) < 1e-12
    assert (out / "tasks/notus_mmlu.yaml").is_file() and len(
        list((out / "tasks").glob("notus_mmlu_*.yaml"))
    ) == 57


def test_preference_accuracy_cli(shared_data, tiny_model_dir, tmp_path):
    data = shared_data / "ultrafeedback/binarized_overall_score_eval_200.jsonl"
    result = notus(
        "preference",
        "--model",
        str(tiny_model_dir),
        "--reference",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--max-pairs",
        "4",
        "--max-length",
        "128",
        "--json",
    )
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 4 and metrics["reward_accuracy"] == 0.0  # a model against itself: all rewards 0
    assert 0 <= metrics["logp_accuracy"] <= 1
