"""Issue 15's acceptance: `notus run` is the stage commands chained. On the same recipe, `notus data
curate`, `notus train dpo` and `notus eval preference` run by hand give the identical pairs, the
identical trained weights (same seed) and the identical metrics. A random-weight 2-layer model keeps
it cheap (see tests/conftest.py: tiny_model_dir)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from notus.cli.main import main as notus

TRAIN_KEYS = [
    "train.max_steps=2",
    "train.per_device_train_batch_size=2",
    "train.max_length=96",
    "train.learning_rate=1e-3",
    "train.gradient_checkpointing=false",
]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, tiny_model_dir):
    """One `notus run` on the tiny model (one seed, a judged head-to-head judged by the tiny model too)."""
    tmp = tmp_path_factory.mktemp("experiment")
    run = tmp / "run"
    head_to_head = (
        f"eval.head_to_head={{judge_model: {tiny_model_dir}, max_new_tokens: 4, judge_max_tokens: 8}}"
    )
    argv = ["run", "recipes/notus_experiment.yaml", f"train.model_name_or_path={tiny_model_dir}", *TRAIN_KEYS,
            "seeds=[3]", "eval.max_pairs=5", head_to_head, f"output_dir={run}"]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NOTUS_CACHE", str(tmp / "cache"))
        assert notus(argv) == 0
    return run, json.loads((run / "summary.json").read_text())


def test_run_and_stage_commands_agree(experiment, tmp_path, tiny_model_dir, capsys):
    run, summary = experiment
    by_hand = tmp_path / "by_hand"
    strategy = "notus"
    # data: the saved stage recipe through `notus data curate`
    assert (
        notus(
            ["data", "curate", str(run / "data" / f"{strategy}.curate.yaml"), f"output={by_hand}/pairs.jsonl"]
        )
        == 0
    )
    for split in ("train", "test"):
        mine = (by_hand / f"pairs_{split}.jsonl").read_bytes()
        assert mine and mine == (run / "data" / f"{strategy}_{split}.jsonl").read_bytes(), split
    # train: the saved recipe through `notus train dpo`, on the pairs curated by hand
    model = run / "models" / f"{strategy}-seed3"
    argv = ["train", "dpo", str(model / "recipe.yaml"), "--dataset", str(by_hand / "pairs_train.jsonl"),
            f"output_dir={by_hand}/model"]  # fmt: skip
    assert notus(argv) == 0
    ours, theirs = load_file(model / "model.safetensors"), load_file(by_hand / "model" / "model.safetensors")
    base = load_file(tiny_model_dir / "model.safetensors")
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert any(not torch.equal(ours[k], base[k]) for k in base)  # training moved the weights
    # eval: `notus eval preference` on the held-out pairs, the trained model against the base model
    capsys.readouterr()
    test_pairs = by_hand / "first5.jsonl"
    test_pairs.write_text("".join((by_hand / "pairs_test.jsonl").read_text().splitlines(keepends=True)[:5]))
    argv = ["eval", "preference", "--model", str(by_hand / "model"), "--reference", str(tiny_model_dir),
            "--data", str(test_pairs), "--max-length", "96", "--json", "--per-pair"]  # fmt: skip
    assert notus(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    got = summary["preference"]["tests"][strategy]["models"][strategy]
    assert got["reward_accuracy"]["per_seed"] == [cli["reward_accuracy"]]
    assert got["logp_accuracy"]["per_seed"] == [cli["logp_accuracy"]]
    per_pair = json.loads((run / "eval" / "preference.json").read_text())[strategy][strategy]["3"]
    assert {k: v for k, v in per_pair.items()} == cli  # counts, intervals and every pair's outcome
    assert cli["n"] == 5


def test_head_to_head_is_notus_eval_alpaca_on_held_out_prompts(experiment):
    run, summary = experiment
    h = summary["head_to_head"]
    instructions = json.loads((run / "eval" / "head_to_head" / "instructions.json").read_text())
    assert h["a"] == "zephyr" and h["b"] == "notus" and h["prompts"] == len(instructions) == 5
    held_out = [
        json.loads(line)["prompt"][-1]["content"] for line in (run / "data" / "zephyr_test.jsonl").open()
    ]
    assert [i["instruction"] for i in instructions] == held_out[:5]
    r = h["per_seed"]["3"]
    assert r["n_wins"] + r["n_wins_base"] + r["n_draws"] + r["n_unparsed"] == 5  # every prompt accounted for
    assert (run / "eval" / "head_to_head" / "zephyr-vs-notus-seed3" / "annotations.json").is_file()
    assert "Judged head-to-head" in (run / "report.md").read_text()
