"""Hub-ready artefacts: the model card is a valid huggingface_hub card (metadata round-trips, Hub ids only,
no local paths), its model-index holds eval results, its Reproduce command works as written; the push
says what happened offline; the run folder records its lineage. Plus the fixed training-path bugs."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from notus.cli.main import main
from notus.train.export import model_card, push_to_hub
from notus.train.recipes import train_recipe
from notus.train.stage import lineage, write_recipe

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "fixtures" / "train" / "pairs.jsonl"


def recipe(**keys):
    base = {
        "model_name_or_path": "smollm2-135m-instruct",
        "dataset_mixture": {
            "datasets": [{"id": str(PAIRS)}, {"id": "HuggingFaceH4/ultrafeedback_binarized"}]
        },
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "license": "mit",
        "tags": ["ultrafeedback"],
    }
    return train_recipe("dpo", **{**base, **keys})


def test_card_metadata_round_trips_with_hub_ids_only(tmp_path):
    lm_eval = tmp_path / "eval" / "harness" / "results.json"
    lm_eval.parent.mkdir(parents=True)
    lm_eval.write_text(
        json.dumps({"results": {"arc_challenge": {"acc_norm,none": 0.25, "acc_norm_stderr,none": 0.01}}})
    )
    path = model_card(
        recipe(),
        tmp_path,
        [{"step": 2, "loss": 0.69}],
        {"train_pairs": 16},
        {"eval/rewards/accuracies": 0.625, "eval/loss": 0.68, "eval/pairs": 8},
        world=2,
    )
    card = ModelCard.load(path)  # huggingface_hub parses and validates the metadata
    data = card.data.to_dict()
    assert data["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert data["datasets"] == ["HuggingFaceH4/ultrafeedback_binarized"]  # the local file is not a Hub id
    assert data["license"] == "mit" and {"notus", "dpo", "trl", "ultrafeedback"} <= set(data["tags"])
    results = {(r.task_name, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert results[("arc_challenge", "acc_norm")] == 0.25
    assert results[("Preference accuracy (implicit reward, held-out pairs)", "rewards_accuracies")] == 0.625
    text = card.text
    assert str(tmp_path) not in json.dumps(data) and "/root/" not in text and "huggingface.co//" not in text
    assert "| global_batch_size | 16 |" in text and "| world_size | 2 |" in text  # 4 x 2 x 2 processes
    assert "mfu" not in text
    links = re.findall(r"\((https?://[^)]+)\)", text)
    assert links and all(
        re.match(r"https://huggingface\.co/(datasets/)?[\w.-]+/[\w.-]+$", u) for u in links
    ), links


def test_a_local_base_model_is_omitted_not_written_as_a_path(tmp_path, tiny_model_dir):
    path = model_card(recipe(model_name_or_path=str(tiny_model_dir)), tmp_path, [], None, None)
    assert "base_model" not in ModelCard.load(path).data.to_dict()


def test_the_reproduce_command_works_as_written(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    run.mkdir()
    r = recipe(output_dir=str(run))
    write_recipe(r, run / "recipe.yaml")
    card = ModelCard.load(model_card(r, run, [], None, None)).text
    command = re.search(r"```bash\n(notus [^\n]+)\n```", card).group(1)
    argv = shlex.split(command)
    monkeypatch.chdir(run)  # "from the folder that holds recipe.yaml"
    assert main([*argv[1:], "--check"]) == 0
    assert "recipe OK" in capsys.readouterr().err


def test_lineage_records_versions_recipe_hash_and_data_hashes():
    found = lineage(recipe())
    assert found["notus"] and found["packages"]["torch"] and found["packages"]["trl"] == "1.16.0"
    assert len(found["recipe_sha256"]) == 64
    assert len(found["data"][str(PAIRS)]["sha256"]) == 64
    assert found["data"]["HuggingFaceH4/ultrafeedback_binarized"]["hub"] is True


def test_push_offline_is_one_line_and_keeps_the_run(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    (tmp_path / "model.safetensors").write_bytes(b"x")
    line = push_to_hub(recipe(push_to_hub=True, hub_model_id="someone/notus-smoke"), tmp_path)
    assert "someone/notus-smoke was not pushed" in line and "\n" not in line
    assert (tmp_path / "model.safetensors").exists()


def test_warmup_ratio_reaches_trl_as_a_ratio_not_as_steps():
    r = train_recipe("dpo", warmup_ratio=0.1, max_steps=100)
    assert r.args.warmup_steps == 0.1 and r.args.get_warmup_steps(100) == 10


def test_the_mfu_peak_is_measured_on_the_training_device_and_dtype():
    from notus.train.loop import _PEAK, matmul_peak_flops

    fp32 = matmul_peak_flops(torch.device("cpu"), torch.float32, seconds=0.05)
    bf16 = matmul_peak_flops(torch.device("cpu"), torch.bfloat16, seconds=0.05)
    assert fp32 > 0 and bf16 > 0 and {("cpu", torch.float32), ("cpu", torch.bfloat16)} <= set(_PEAK)


def test_max_prompt_length_is_honoured_on_the_trl_backend(tiny_model_dir):
    from transformers import AutoTokenizer

    from notus.train.data import Templater
    from notus.train.trl_backend import clip_prompt

    templater = Templater(AutoTokenizer.from_pretrained(tiny_model_dir))
    long = [{"role": "user", "content": " ".join(f"word{i}" for i in range(400)) + " THE END"}]
    clipped = clip_prompt(long, templater, 64)
    assert len(templater.prompt_ids(clipped)) <= 64
    assert clipped[0]["content"].endswith("THE END")  # the prompt keeps its last tokens
    assert clip_prompt(long, templater, None) == long


@pytest.mark.parametrize("loss,trainer", [("simpo", "CPOTrainer"), ("rpo", "DPOTrainer")])
def test_simpo_is_trls_cpo_simpo_and_rpo_is_sigmoid_plus_sft(loss, trainer, tiny_model_dir, tmp_path):
    from notus.core.runs import read_jsonl
    from notus.train.run import train

    r = train_recipe(
        "dpo",
        model_name_or_path=str(tiny_model_dir),
        loss_type=loss,
        output_dir=str(tmp_path / loss),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=96,
        logging_steps=1,
        disable_tqdm=True,
        report_to=[],
    )
    result = train(r, read_jsonl(PAIRS))
    assert result["trainer"] == trainer and result["global_step"] == 1
    if loss == "simpo":
        assert result["trl_config"]["loss_type"] == "simpo" and result["trl_config"]["cpo_alpha"] == 0.0
    else:
        assert result["trl_config"]["loss_type"] == ["sigmoid", "sft"]
        assert result["trl_config"]["loss_weights"] == [1.0, 1.0]


def test_notus_train_card_adds_lm_eval_results_to_a_finished_run(tiny_model_dir, tmp_path, capsys):
    from notus.core.runs import read_jsonl
    from notus.train.run import train

    out = tmp_path / "run"
    r = train_recipe(
        "dpo",
        backend="notus",
        model_name_or_path=str(tiny_model_dir),
        output_dir=str(out),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=96,
        disable_tqdm=True,
        ref_cache_dir=str(tmp_path / "cache"),
    )
    train(r, read_jsonl(PAIRS))
    assert not ModelCard.load(out / "README.md").data.eval_results
    harness = out / "eval" / "harness" / "results.json"
    harness.parent.mkdir(parents=True)
    harness.write_text(json.dumps({"results": {"hellaswag": {"acc_norm,none": 0.31}}}))
    assert main(["train", "card", str(out)]) == 0
    (result,) = ModelCard.load(out / "README.md").data.eval_results
    assert (result.task_name, result.metric_type, result.metric_value) == ("hellaswag", "acc_norm", 0.31)
    assert main(["train", "card", str(tmp_path)]) == 2
    assert "not a notus run folder" in capsys.readouterr().err
