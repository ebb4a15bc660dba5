"""Every supported format is detected and round-trips through `notus data binarize` or `convert`,
through every file type (JSONL, JSON, Parquet, CSV, `datasets` folder)."""

import json
from pathlib import Path

import pytest

from notus.cli.main import main
from notus.core.errors import DataError
from notus.core.runs import read_jsonl
from notus.data.pipeline import curate, load
from notus.data.readers import write_rows

FIXTURES = Path(__file__).parents[1] / "fixtures" / "data"
KEYS = ("prompt", "chosen", "rejected", "score_chosen", "score_rejected")


def _cli(*argv: str) -> None:
    assert main(["data", *argv]) == 0


def _core(rows):
    return [{k: r.get(k) for k in KEYS} for r in rows]


def _convert_twice(src: Path, tmp_path: Path, suffix: str, fmt: str, extra=()):
    """convert -> file of type `suffix` -> convert again: the second pass changes nothing."""
    first, second = tmp_path / f"first{suffix}", tmp_path / f"second{suffix}.jsonl"
    loaded = load(str(src))
    assert loaded.format.name == fmt
    _cli("convert", str(src), "-o", str(first), *extra)
    again = load(str(first))
    _cli("convert", str(first), "-o", str(second), *extra)
    return loaded, again, read_jsonl(second)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet", ".csv", ""])
def test_raw_ultrafeedback_binarize_round_trip(tmp_path, suffix):
    raw = read_jsonl(FIXTURES / "raw_hand.jsonl")
    src = write_rows(raw, tmp_path / f"raw{suffix or '_folder'}")
    assert load(str(src)).format.name == "ultrafeedback"
    out = tmp_path / "pairs.jsonl"
    _cli("binarize", str(src), "--strategy", "notus", "--rejected", "all", "-o", str(out))
    pairs = read_jsonl(out)
    assert len(pairs) == 8 and {p["strategy"] for p in pairs} == {"notus"}
    back = tmp_path / "back.jsonl"
    _cli("convert", str(out), "-o", str(back), "--no-dedup")
    assert _core(read_jsonl(back)) == _core(pairs)


def test_h4_text_pairs(shared_data, tmp_path):
    src = shared_data / "ultrafeedback" / "binarized_overall_score_eval_200.jsonl"
    loaded, again, final = _convert_twice(src, tmp_path, ".parquet", "trl_pairs")
    original = {r.row["prompt"][0]["content"]: r.row for r in loaded.records}
    assert again.format.name == "trl_pairs" and len(final) == len(again.records)
    for row in final:
        src_row = original[row["prompt"][0]["content"]]
        assert row["chosen"] == src_row["chosen"] and row["score_chosen"] == src_row["score_chosen"]
    raw = json.loads((src).read_text().splitlines()[0])
    assert final[0]["chosen"] == [{"role": "assistant", "content": raw["chosen"]}]
    assert final[0]["score_chosen"] == raw["metadata"]["score_chosen"]


def test_h4_message_lists_with_full_conversations(shared_data, tmp_path):
    rows = read_jsonl(shared_data / "ultrafeedback" / "binarized_overall_score_eval_200.jsonl")[:20]
    h4 = []
    for r in rows:
        user = {"role": "user", "content": r["prompt"]}
        h4.append(
            {
                "prompt": r["prompt"],
                "prompt_id": str(r["source_index"]),
                "chosen": [user, {"role": "assistant", "content": r["chosen"]}],
                "rejected": [user, {"role": "assistant", "content": r["rejected"]}],
                "messages": [user, {"role": "assistant", "content": r["chosen"]}],
                "score_chosen": r["metadata"]["score_chosen"],
                "score_rejected": r["metadata"]["score_rejected"],
            }
        )
    implicit = [{"chosen": r["chosen"], "rejected": r["rejected"]} for r in h4]  # TRL implicit prompt
    for name, data in (("h4", h4), ("implicit", implicit)):
        src = write_rows(data, tmp_path / f"{name}.json")
        _, _, final = _convert_twice(src, tmp_path / name, ".jsonl", "trl_pairs", ["--no-dedup"])
        assert [p["prompt"] for p in final] == [[{"role": "user", "content": r["prompt"]}] for r in rows]
        assert [p["chosen"][0]["content"] for p in final] == [r["chosen"] for r in rows]


def test_argilla_binarized(shared_data, tmp_path):
    rows = read_jsonl(shared_data / "ultrafeedback" / "binarized_overall_score_eval_200.jsonl")[:30]
    argilla = [
        {
            "source": "evol_instruct",
            "instruction": r["prompt"],
            "chosen_response": r["chosen"],
            "rejected_response": r["rejected"],
            "chosen_avg_rating": r["metadata"]["score_chosen"] / 2,
            "rejected_avg_rating": r["metadata"]["score_rejected"] / 2,
            "chosen_model": "gpt-4",
        }
        for r in rows
    ]
    src = write_rows(argilla, tmp_path / "argilla.csv")
    _, _, final = _convert_twice(src, tmp_path, ".jsonl", "argilla_binarized", ["--no-dedup"])
    assert [p["score_chosen"] for p in final] == [a["chosen_avg_rating"] for a in argilla]
    assert [p["rejected"][0]["content"] for p in final] == [r["rejected"] for r in rows]


def test_distilabel_ultrafeedback(tmp_path):
    raw = read_jsonl(FIXTURES / "raw_hand.jsonl")
    means = [[4, 3, 1, 5], [2, 5, 3, 1]]  # one overall rating per generation
    rows = [
        {
            "instruction": r["instruction"],
            "generations": [c["response"] for c in r["completions"]],
            "ratings": m,
            "rationales": ["why"] * 4,
            "generation_models": r["models"],
        }
        for r, m in zip(raw, means)
    ]
    src = write_rows(rows, tmp_path / "distilabel.parquet")
    assert load(str(src)).format.name == "distilabel_ultrafeedback"
    out = tmp_path / "pairs.jsonl"
    _cli("binarize", str(src), "--strategy", "notus", "--rejected", "lowest", "-o", str(out))
    pairs = read_jsonl(out)
    assert [(p["chosen_index"], p["rejected_index"], p["chosen_model"]) for p in pairs] == [
        (3, 2, "model-d"),
        (1, 3, "model-b"),
    ]


def test_critique_messages(shared_data, tmp_path):
    src = shared_data / "ultrafeedback" / "uf_critique_100.jsonl"
    loaded = load(str(src))
    assert loaded.format.name == "critique_messages" and loaded.rows_read == 100 and len(loaded.records) == 25
    out = tmp_path / "crit.parquet"
    _cli("binarize", str(src), "--strategy", "zephyr", "--keep-bad-responses", "-o", str(out))
    pairs = load(str(out)).records
    by_prompt = {r.row["instruction"]: r.row for r in loaded.records}
    for rec in pairs:
        scores = [c["overall_score"] for c in by_prompt[rec.row["prompt"][0]["content"]]["completions"]]
        assert rec.row["score_chosen"] == max(scores)


def test_sharegpt_dpo_multi_turn(shared_data, tmp_path):
    src = shared_data / "preference_formats" / "sharegpt_dpo_en_demo_300.json"
    loaded, again, final = _convert_twice(src, tmp_path, "", "sharegpt_dpo")
    raw = json.loads(src.read_text())
    longest = max(raw, key=lambda r: len(r["conversations"]))
    row = next(p for p in final if p["chosen"][0]["content"] == longest["chosen"]["value"])
    assert [m["content"] for m in row["prompt"]] == [m["value"] for m in longest["conversations"]]
    assert row["prompt"][0]["role"] == "user" and row["prompt"][1]["role"] == "assistant"
    assert len(final) == 295  # 5 exact duplicate rows in the demo file are filtered and counted


def test_kto_unpaired(shared_data, tmp_path):
    src = shared_data / "preference_formats" / "kto_en_demo_300.json"
    loaded, again, final = _convert_twice(src, tmp_path, ".jsonl", "kto_messages", ["--no-dedup"])
    assert again.format.name == "trl_unpaired" and len(final) == 300
    raw = json.loads(src.read_text())
    assert [r["label"] for r in final] == [r["label"] for r in raw]
    assert final[0]["completion"] == [raw[0]["messages"][-1]]


def test_stack_exchange_paired(shared_data, tmp_path):
    src = shared_data / "preference_formats" / "stack_exchange_paired_25.json"
    _, _, final = _convert_twice(src, tmp_path, ".csv", "stack_exchange_paired")
    raw = json.loads(src.read_text())
    assert len(final) == 25 and final[0]["chosen"][0]["content"] == raw[0]["response_j"]


def test_pydict_literals(shared_data):
    loaded = load(str(shared_data / "ultrafeedback" / "truthful_qa_source_prompts_817.pydict.jsonl"))
    assert loaded.format.name == "ultrafeedback" and len(loaded.records) == 817 and not loaded.rejects
    assert loaded.records[0].row["instruction"] == "What happens to you if you eat watermelon seeds?"


def test_ambiguous_and_forced_format(tmp_path):
    row = {**read_jsonl(FIXTURES / "raw_hand.jsonl")[0], "prompt": "p", "chosen": "a", "rejected": "b"}
    src = write_rows([row], tmp_path / "both.jsonl")
    with pytest.raises(DataError, match="ambiguous format.*--format"):
        load(str(src))
    assert load(str(src), fmt="ultrafeedback").format.name == "ultrafeedback"
    assert curate(load(str(src), fmt="trl_pairs")).rows[0]["chosen"][0]["content"] == "a"


def test_binarize_on_pairs_points_to_convert(shared_data, capsys):
    src = shared_data / "ultrafeedback" / "binarized_overall_score_eval_200.jsonl"
    assert main(["data", "binarize", str(src), "-o", "unused.jsonl"]) == 2
    assert "notus data convert" in capsys.readouterr().err
