"""Recipes are read by TRL's own dataclasses: the field's recipe files pass unchanged (alignment-handbook,
both data forms; Notus v1), every TRL key is a key, and bad recipes get every problem once, together."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
import yaml

from notus.cli.main import main
from notus.core.errors import RecipeError
from notus.train.recipes import load_train_recipe, train_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes" / "train").rglob("*.yaml"))
ACCELERATE = sorted((ROOT / "recipes" / "accelerate").glob("*.yaml"))
HANDBOOK = "recipes/alignment-handbook"


def recipe_method(path: Path) -> str:
    """The method named in the recipe's first line: `# [launcher ...] notus train METHOD path`."""
    first = path.read_text().splitlines()[0]
    match = re.search(r"notus train (sft|dpo|kto|orpo) (\S+)", first)
    assert match, f"{path} must start with the command that runs it"
    assert match.group(2) == str(path.relative_to(ROOT)), f"{path}: header names {match.group(2)}"
    return match.group(1)


def handbook_recipes(shared: Path) -> list[tuple[str, Path]]:
    found = [p for p in sorted((shared / HANDBOOK).rglob("*.yaml")) if "accelerate_configs" not in p.parts]
    return [("sft" if "sft" in p.parts else "dpo", p) for p in found]


def test_recipes_exist():
    names = {str(p.relative_to(ROOT / "recipes" / "train")) for p in RECIPES}
    assert {"cpu/dpo.yaml", "cpu/sft.yaml", "notus-7b-v1/dpo-full.yaml", "notus-7b-v1/dpo-lora.yaml"} <= names
    assert "zephyr-7b-beta/dpo-full.yaml" in names
    assert {p.name for p in ACCELERATE} >= {"deepspeed_zero3_offload.yaml", "fsdp.yaml", "multi_gpu.yaml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_recipe_loads_and_validates(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    recipe = load_train_recipe(recipe_method(path), path)
    assert recipe.datasets, path


def test_every_alignment_handbook_recipe_passes_check_unchanged(shared_data, capsys):
    recipes = handbook_recipes(shared_data)
    assert len(recipes) == 8, "the handbook files in ../shared/data/recipes"
    for method, path in recipes:
        assert main(["train", method, str(path), "--check"]) == 0, path
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "recipe OK" in err
        summary = yaml.safe_load(out)
        assert summary["datasets"], path  # dataset_mixture or the 2023 dataset_mixer, both read


def test_the_2023_form_becomes_a_mixture_with_held_out_splits(shared_data):
    recipe = load_train_recipe("dpo", shared_data / HANDBOOK / "2023/zephyr-7b-beta/dpo/config_full.yaml")
    ((spec,), held_out) = recipe.datasets, recipe.data.dataset_mixture.eval_datasets
    assert (spec.id, spec.split, spec.weight) == ("HuggingFaceH4/ultrafeedback_binarized", "train_prefs", 1.0)
    assert [(s.id, s.split) for s in held_out] == [("HuggingFaceH4/ultrafeedback_binarized", "test_prefs")]
    assert recipe.preprocessing_num_workers == min(12, os.cpu_count()) and recipe.beta == 0.1
    assert str(recipe.eval_strategy.value) == "steps"  # evaluation_strategy, read under today's name
    assert any(n.startswith("evaluation_strategy: read as eval_strategy") for n in recipe.notes)
    assert recipe.warmup_steps == 0.1 and str(recipe.optim.value) == "rmsprop"


def test_gpu_only_requests_get_one_note_each_and_a_fallback(shared_data):
    recipe = load_train_recipe("dpo", shared_data / HANDBOOK / "zephyr-7b-beta/dpo/config_qlora.yaml")
    notes = "\n".join(recipe.notes)
    assert recipe.attn_implementation == "sdpa" and "flash_attention_2 needs a CUDA GPU" in notes
    assert recipe.load_in_4bit is False and recipe.use_peft and "LoRA without quantization" in notes
    assert str(recipe.optim.value) == "adamw_torch" and "paged_adamw_32bit" in notes
    assert recipe.lora_r == 128 and recipe.lora_target_modules[-1] == "down_proj"


def test_notus_7b_v1_recipe_matches_the_published_setup(monkeypatch):
    monkeypatch.chdir(ROOT)
    recipe = load_train_recipe("dpo", ROOT / "recipes/train/notus-7b-v1/dpo-full.yaml")
    assert recipe.model_name_or_path == "alignment-handbook/zephyr-7b-sft-full"
    assert recipe.datasets[0].id == "argilla/ultrafeedback-binarized-preferences"
    assert (recipe.beta, recipe.learning_rate, recipe.num_train_epochs, str(recipe.optim.value)) == (
        0.1,
        5e-7,
        3,
        "rmsprop",
    )
    assert (recipe.per_device_train_batch_size, recipe.max_length, recipe.max_prompt_length) == (8, 1024, 512)
    assert recipe.keys["bf16"] is True and recipe.gradient_checkpointing and recipe.backend == "trl"
    offload = yaml.safe_load((ROOT / "recipes/accelerate/deepspeed_zero3_offload.yaml").read_text())
    ds = offload["deepspeed_config"]
    assert (ds["zero_stage"], ds["offload_optimizer_device"], ds["offload_param_device"]) == (3, "cpu", "cpu")
    lora = load_train_recipe("dpo", ROOT / "recipes/train/notus-7b-v1/dpo-lora.yaml")
    assert lora.use_peft and lora.beta == 0.1


def test_every_trl_key_is_a_recipe_key():
    """Built on TRL's dataclasses, not a list: each scalar key of DPOConfig and ModelConfig parses."""
    from trl import DPOConfig, ModelConfig

    skip = {"output_dir", "fp16", "bf16", "tf32", "half_precision_backend", "use_cpu", "push_to_hub"}
    checked = 0
    for cls in (DPOConfig, ModelConfig):
        for f in dataclasses.fields(cls):
            default = f.default
            if f.name in skip or not f.init or not isinstance(default, bool | int | float | str):
                continue
            train_recipe("dpo", **{f.name: default})
            checked += 1
    assert checked > 60


def test_dpo_in_fp16_is_refused_with_a_clear_message():
    with pytest.raises(RecipeError, match="DPO in fp16 is refused.*bf16"):
        load_train_recipe("dpo", None, ["fp16=true"])


def test_all_problems_together_each_once_without_a_key_dump():
    with pytest.raises(RecipeError) as info:
        load_train_recipe(
            "dpo",
            None,
            [
                "betta=0.1",
                "learning_rate=-1",
                "max_prompt_length=2048",
                "max_length=1024",
                "lora_dropout=2.0",
            ],
        )
    problems = info.value.problems
    assert len(problems) == 4, problems
    text = str(info.value)
    assert "betta: unknown key" in text and "did you mean 'beta'" in text
    assert "learning_rate: -1" in text and "lora_dropout: 2.0" in text
    assert "max_prompt_length (2048) must be < max_length (1024)" in text
    assert len(text) < 1000, "no dump of every valid key"


@pytest.mark.parametrize(
    "override",
    [
        "learning_rate=.nan",
        "learning_rate=-5e-7",
        "beta=0",
        "beta=.inf",
        "num_train_epochs=-1",
        "weight_decay=-0.1",
        "max_grad_norm=-1",
        "lora_r=0",
        "lora_dropout=2.0",
        "micro_batch_tokens=0",
        "per_device_train_batch_size=0",
        "warmup_ratio=1.5",
        "label_smoothing=0.7",
        "trust_remote_code=true",
        "dataset_mixture.datasets=[{id: x.jsonl, weight: .nan}]",
        "dataset_mixture.test_split_size=-3",
        "lr_scheduler_type=sometimes",
        "per_device_train_batch_size=many",
    ],
)
def test_invalid_values_are_refused_before_any_work(override):
    with pytest.raises(RecipeError) as info:
        load_train_recipe("dpo", None, [override])
    assert override.split("=")[0].split(".")[0] in str(info.value)


def test_overrides_replace_lists_and_dataset_replaces_the_recipes_data(shared_data):
    path = shared_data / HANDBOOK / "zephyr-7b-beta/dpo/config_full.yaml"
    local = ROOT / "tests/fixtures/train/pairs.jsonl"
    recipe = load_train_recipe("dpo", path, ["report_to=[]", "max_steps=2"], dataset=str(local))
    assert [s.id for s in recipe.datasets] == [str(local)] and recipe.max_steps == 2
    assert recipe.report_to == [] and recipe.data.dataset_mixture.test_split_size == 2000


def test_a_missing_local_dataset_is_an_error_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["train", "dpo", "--check", "dataset_mixture.datasets=[{id: ./missing/pairs.jsonl}]"])
    assert code == 2
    assert "./missing/pairs.jsonl" in capsys.readouterr().err


def test_a_chat_template_given_inline_is_not_taken_for_a_file_name():
    from notus.train.stage import read_template

    long_template = "{% for m in messages %}" + "x" * 5000 + "{% endfor %}"
    assert read_template(long_template) == long_template  # was OSError: File name too long


def test_the_notus_backend_names_the_keys_it_does_not_use():
    from notus.train.loop import backend_notes

    recipe = train_recipe("dpo", backend="notus", eval_steps=100, hub_strategy="every_save")
    (note,) = backend_notes(recipe)
    assert "eval_steps" in note and "hub_strategy" in note and "backend: trl" in note
    with pytest.raises(RecipeError, match="optim: 'adafactor'"):
        backend_notes(train_recipe("dpo", backend="notus", optim="adafactor"))
