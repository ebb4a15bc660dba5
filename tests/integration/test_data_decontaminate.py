"""Decontamination acceptance on real data: the 817 UltraFeedback truthful_qa prompts are all
matched to their TruthfulQA item; the 1000 + 200 binarized sample rows have no exact TruthfulQA
hit (fuzzy hits, if any, are listed with their item) and their ties (111 / 25) are reported;
every benchmark item in a seeded disguise (benchmarks/bench_decontaminate.py) is found at >= 99 %
with no false positive on the real UltraFeedback prompts."""

import ast
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from notus.cli.main import main
from notus.data.decontaminate import BenchmarkIndex
from notus.data.filters import normalize
from notus.data.pipeline import CurateOptions, curate, load


@pytest.fixture(scope="module")
def index(shared_data):
    return BenchmarkIndex.from_paths(
        [
            shared_data / "benchmarks",
            shared_data / "alpaca_eval" / "model_outputs",
            shared_data / "mt_bench" / "question.jsonl",
        ]
    )


def test_every_benchmark_is_indexed(index):
    counts = index.summary()
    assert set(counts) == {"truthfulqa", "gsm8k", "mmlu", "arc", "hellaswag", "alpaca_eval", "mt_bench"}
    assert counts["truthfulqa"] == 817 and counts["gsm8k"] == 1319 and counts["mt_bench"] == 160


def test_all_817_truthfulqa_prompts_flagged_with_their_item(shared_data, tmp_path, capsys):
    src = shared_data / "ultrafeedback" / "truthful_qa_source_prompts_817.pydict.jsonl"
    out = tmp_path / "hits.jsonl"
    assert (
        main(
            [
                "data",
                "decontaminate",
                str(src),
                "--against",
                str(shared_data / "benchmarks" / "truthfulqa"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "rows in 817 = rows out 0 + filtered 817 (contaminated)" in capsys.readouterr().out
    hits = [json.loads(line) for line in out.read_text().splitlines()]
    prompts = [ast.literal_eval(line)["instruction"] for line in src.read_text().splitlines()]
    assert len(hits) == 817 and [h["line"] for h in hits] == list(range(1, 818))
    questions = [
        ln.split(",")[2]
        for ln in (shared_data / "benchmarks" / "truthfulqa" / "TruthfulQA.csv")
        .read_text(encoding="utf-8-sig")
        .splitlines()[1:3]
    ]
    assert hits[0]["hits"][0]["item_text"] == questions[0]
    for h in hits:
        top = h["hits"][0]
        assert top["benchmark"] == "truthfulqa" and top["match"] == "exact"
        assert normalize(top["item_text"]) == normalize(prompts[h["row"]]) and top["item_id"].startswith(
            ("TruthfulQA.csv:", "mc_task.json:")
        )


def test_ngram_matches(index, shared_data):
    gsm = json.loads((shared_data / "benchmarks" / "gsm8k" / "test.jsonl").read_text().splitlines()[0])[
        "question"
    ]
    edited = gsm.replace("16 eggs", "twenty eggs")
    hits = index.match(
        [f"Please solve this: {gsm} Answer briefly.", "Write a haiku about autumn leaves.", edited]
    )
    assert [h["row"] for h in hits] == [0, 2]
    assert [(h["hits"][0]["benchmark"], h["hits"][0]["item_id"]) for h in hits] == [
        ("gsm8k", "test.jsonl:0")
    ] * 2
    assert hits[0]["hits"][0]["match"] == "contains" and hits[1]["hits"][0]["match"] == "ngram"
    assert 0.5 <= hits[1]["hits"][0]["overlap"] < 1
    mt = index.match(
        [
            "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences and must-see attractions."
        ]
    )
    assert {(h["benchmark"], h["match"]) for h in mt[0]["hits"]} == {
        ("mt_bench", "exact"),
        ("alpaca_eval", "exact"),
    }


@pytest.mark.parametrize("name,ties", [("train_1000", 111), ("eval_200", 25)])
def test_binarized_sample_is_clean_and_ties_reported(shared_data, index, name, ties):
    loaded = load(str(shared_data / "ultrafeedback" / f"binarized_overall_score_{name}.jsonl"))
    result = curate(loaded, CurateOptions(index=index))
    assert result.ties == ties
    assert f"ties (score_chosen == score_rejected): {ties}" in result.ledger.summary()
    exact_tqa = [
        h for h in result.hits for x in h["hits"] if x["benchmark"] == "truthfulqa" and x["match"] == "exact"
    ]
    assert exact_tqa == []
    for h in result.hits:  # fuzzy hits (none expected today) name their item
        assert all(x["item_id"] and x["item_text"] for x in h["hits"])
    assert result.ledger.rows_in == len(loaded.records)


def _bench_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_decontaminate.py"
    spec = importlib.util.spec_from_file_location("bench_decontaminate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_disguised_leaks_recall_and_false_positives(shared_data):
    """Targets of issue 16: recall >= 99 % on disguised leaks, 0 false positives on UltraFeedback."""
    bench = _bench_module()
    index = BenchmarkIndex.from_paths([shared_data / "benchmarks"])
    cases = bench.leaks(index, seed=0)
    applied = Counter(name for _, _, names in cases for name in names)
    assert set(applied) == set(bench.DISGUISES) and min(applied.values()) > len(cases) / 3
    assert all(text != item.text for item, text, _ in cases)

    r = bench.measure(index, shared_data, seed=0)
    assert r["n"] == 18711 == sum(index.summary().values())  # every item of the five benchmarks
    assert r["recall"] >= 0.99 and r["recall_ci"][0] >= 0.99, r["missed"][:10]
    for name in ("truthfulqa", "gsm8k"):  # the two the issue names
        assert r["missed_by_benchmark"][name] / r["n_by_benchmark"][name] <= 0.01
    assert r["n_negatives"] == 1225 and r["false_positives"] == []
    assert r["fp_ci"][0] == 0 and r["fp_ci"][1] < 0.005
    assert r["unguarded_false_positives"]  # the short-item guard is what keeps it at 0
    assert r["control_found"] == r["control_n"] == 817 and r["control_other_benchmarks"] == []


def test_short_questions_found_in_disguise_generic_ones_only_exactly(index):
    hits = index.match(
        [
            "Question: ARE   vampires real?? Explain briefly.",  # TruthfulQA, 3 words
            "Answer this honestly: who invented the internet",  # TruthfulQA, 4 words
            "What’s the best way to learn about the pleura and its layers?",  # MMLU "The pleura"
            "Hi! Who are you? I run a bakery.",  # TruthfulQA "Who are you?" is too generic to contain
            "WHO ARE YOU",  # ... but an exact match still counts
        ]
    )
    assert [h["row"] for h in hits] == [0, 1, 4]
    assert [(h["hits"][0]["benchmark"], h["hits"][0]["match"]) for h in hits] == [
        ("truthfulqa", "contains"),
        ("truthfulqa", "contains"),
        ("truthfulqa", "exact"),
    ]
    assert [h["hits"][0]["item_text"] for h in hits[:2]] == [
        "Are vampires real?",
        "Who invented the Internet?",
    ]
