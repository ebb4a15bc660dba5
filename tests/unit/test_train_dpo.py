"""DPO and SFT on the tiny model: everything that should train changes, the run folder is complete,
the reference log-probs are reused on the second run, LoRA exports a plain merged model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from notus.core.runs import read_jsonl
from notus.train.dpo import train_dpo
from notus.train.recipes import train_recipe
from notus.train.sft import train_sft

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "train"
DPO_KEYS = {"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"}
RUN_KEYS = {"tokens_per_s", "peak_memory_mb", "mfu", "learning_rate", "grad_norm", "step"}


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return read_jsonl(FIXTURES / "pairs.jsonl")


def tiny_recipe(method, model_dir, out, **kw):
    base = dict(
        backend="notus",
        model_name_or_path=str(model_dir),
        output_dir=str(out),
        max_steps=3,
        per_device_train_batch_size=4,
        max_length=128,
        learning_rate=1e-3,
        disable_tqdm=True,
        torch_threads=1,
        logging_steps=1,
    )
    return train_recipe(method, **{**base, **kw})


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def test_dpo_trains_every_parameter_and_writes_the_run_folder(tiny_model_dir, pairs, tmp_path):
    recipe = tiny_recipe("dpo", tiny_model_dir, tmp_path / "run", ref_cache_dir=str(tmp_path / "cache"))
    result = train_dpo(recipe, pairs[:12], eval_rows=pairs[12:])
    out = Path(result["output_dir"])
    before, after = weights(tiny_model_dir), weights(out)
    unchanged = [n for n in before if torch.equal(before[n], after[n])]
    assert not unchanged, f"parameters that did not train: {unchanged}"
    assert len(result["metrics"]) == 3 and result["global_step"] == 3 and result["train_runtime"] > 0
    assert DPO_KEYS | RUN_KEYS <= set(result["metrics"][-1])
    assert read_jsonl(out / "metrics.jsonl") == result["metrics"]
    assert result["metrics"][0]["loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at step 1
    assert (out / "metrics.png").stat().st_size > 1000
    assert (out / "tokenizer_config.json").exists() and (out / "recipe.yaml").exists()
    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert "base_model" not in front, "a local base model is never written as a path into Hub metadata"
    assert "dpo" in front["tags"] and front["license"]
    assert "learning_rate" in card and "rewards/margins" in card
    model = AutoModelForCausalLM.from_pretrained(out)
    generated = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=3, do_sample=False)
    assert generated.shape[1] == 6
    assert result["reference_cache_hit"] is False
    assert result["eval_metrics"]["eval/pairs"] == 4
    assert 0 <= result["eval_metrics"]["eval/rewards/accuracies"] <= 1
    assert "Evaluation results" in card and "rewards_accuracies" in card
    (index,) = front["model-index"]
    metrics = {m["type"]: m["value"] for m in index["results"][0]["metrics"]}
    assert metrics["rewards_accuracies"] == round(result["eval_metrics"]["eval/rewards/accuracies"], 4)


def test_second_run_on_the_same_data_reuses_cached_reference_log_probs(tiny_model_dir, pairs, tmp_path):
    cache = str(tmp_path / "cache")
    first = train_dpo(
        tiny_recipe("dpo", tiny_model_dir, tmp_path / "a", max_steps=1, ref_cache_dir=cache), pairs
    )
    second = train_dpo(
        tiny_recipe("dpo", tiny_model_dir, tmp_path / "b", max_steps=1, ref_cache_dir=cache), pairs
    )
    assert (first["reference_cache_hit"], second["reference_cache_hit"]) == (False, True)
    assert first["reference_cache"] == second["reference_cache"]
    assert first["metrics"][0]["loss"] == second["metrics"][0]["loss"]
    other = train_dpo(
        tiny_recipe("dpo", tiny_model_dir, tmp_path / "c", max_steps=1, ref_cache_dir=cache, max_length=96),
        pairs,
    )
    assert other["reference_cache_hit"] is False, "a different max_length is a different cache key"


@pytest.mark.parametrize("loss_type", ["ipo", "simpo"])  # simpo: the reference-free path
def test_loss_variants_train(tiny_model_dir, pairs, tmp_path, loss_type):
    recipe = tiny_recipe(
        "dpo",
        tiny_model_dir,
        tmp_path,
        max_steps=2,
        loss_type=loss_type,
        label_smoothing=0.1,
        ref_cache_dir=str(tmp_path / "cache"),
    )
    result = train_dpo(recipe, pairs)
    assert all(torch.isfinite(torch.tensor(m["loss"])) for m in result["metrics"])


def test_lora_exports_adapter_and_merged_plain_model(tiny_model_dir, pairs, tmp_path):
    recipe = tiny_recipe(
        "dpo",
        tiny_model_dir,
        tmp_path / "lora",
        use_peft=True,
        lora_r=4,
        lora_alpha=8,
        lora_target_modules=["q_proj", "v_proj"],
        ref_cache_dir=str(tmp_path / "cache"),
    )
    out = Path(train_dpo(recipe, pairs)["output_dir"])
    assert (out / "adapter" / "adapter_config.json").exists()
    merged, base = weights(out), weights(tiny_model_dir)
    assert set(merged) == set(base), "the merged folder is a plain model (no lora_ keys)"
    changed = {n for n in base if not torch.equal(base[n], merged[n])}
    assert changed and all("q_proj" in n or "v_proj" in n for n in changed)
    AutoModelForCausalLM.from_pretrained(out)


def test_sft_trains_on_assistant_tokens_with_packing(tiny_model_dir, tmp_path):
    rows = read_jsonl(FIXTURES / "sft.jsonl")
    recipe = tiny_recipe(
        "sft", tiny_model_dir, tmp_path / "sft", max_length=256, report_to=["jsonl", "tensorboard"]
    )
    result = train_sft(recipe, rows)
    out = Path(result["output_dir"])
    before, after = weights(tiny_model_dir), weights(out)
    assert all(not torch.equal(before[n], after[n]) for n in before)
    losses = [m["loss"] for m in result["metrics"]]
    assert losses[-1] < losses[0]
    assert list((out / "tensorboard").glob("events.out.tfevents.*")), "report_to tensorboard"
    summary = json.loads((out / "train_results.json").read_text())
    assert summary["train_conversations"] == 16
    assert yaml.safe_load((out / "README.md").read_text().split("---")[1])["tags"][:2] == ["notus", "sft"]


def test_model_card_data_summary_counts_provenance_and_reads_curation_sidecar(tmp_path):
    from notus.train.data import curation_sidecars, curation_summary
    from notus.train.recipes import DatasetMixture, DatasetSpec

    rows = [  # three rows as `notus data binarize` writes them (provenance columns), one without
        {
            "strategy": "notus",
            "source": "evol_instruct",
            "margin": 1.5,
            "score_chosen": 4.5,
            "score_rejected": 3.0,
        },
        {
            "strategy": "notus",
            "source": "sharegpt",
            "margin": 0.0,
            "score_chosen": 4.0,
            "score_rejected": 4.0,
        },
        {
            "strategy": "notus",
            "source": "sharegpt",
            "margin": 2.0,
            "score_chosen": 5.0,
            "score_rejected": 3.0,
        },
        {"prompt": "no provenance"},
    ]
    summary = curation_summary(rows)
    assert summary["rows"] == 4 and summary["strategy_counts"] == {"notus": 3}
    assert summary["source_counts"] == {"sharegpt": 2, "evol_instruct": 1}
    assert summary["margin_mean"] == pytest.approx(3.5 / 3, abs=1e-4) and summary["ties"] == 1
    data = tmp_path / "pairs_train.jsonl"
    data.write_text("")
    (tmp_path / "pairs.curation.json").write_text(json.dumps({"rows_in": 10, "rows_out": 3}))
    mixture = DatasetMixture(datasets=[DatasetSpec(id=str(data)), DatasetSpec(id=str(tmp_path / "x.jsonl"))])
    assert curation_sidecars(mixture) == {str(data): {"rows_in": 10, "rows_out": 3}}
