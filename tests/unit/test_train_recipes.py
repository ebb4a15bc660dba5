"""Every training recipe in the repo loads and validates; the DPO recipe rules are enforced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from notus.core.config import load_recipe
from notus.core.errors import RecipeError
from notus.train.recipes import DPORecipe, SFTRecipe

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes" / "train").rglob("*.yaml"))
ACCELERATE = sorted((ROOT / "recipes" / "accelerate").glob("*.yaml"))


def recipe_method(path: Path) -> str:
    """The method named in the recipe's first line: `# [launcher ...] notus train METHOD path`."""
    first = path.read_text().splitlines()[0]
    match = re.search(r"notus train (sft|dpo|kto|orpo) (\S+)", first)
    assert match, f"{path} must start with the command that runs it"
    assert match.group(2) == str(path.relative_to(ROOT)), f"{path}: header names {match.group(2)}"
    return match.group(1)


def test_recipes_exist():
    names = {str(p.relative_to(ROOT / "recipes" / "train")) for p in RECIPES}
    assert {"cpu/dpo.yaml", "cpu/sft.yaml", "notus-7b-v1/dpo-full.yaml", "notus-7b-v1/dpo-lora.yaml"} <= names
    assert "zephyr-7b-beta/dpo-full.yaml" in names
    assert {p.name for p in ACCELERATE} >= {"deepspeed_zero3_offload.yaml", "fsdp.yaml", "multi_gpu.yaml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_recipe_loads_and_validates(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    method = recipe_method(path)
    recipe = load_recipe(SFTRecipe if method == "sft" else DPORecipe, path)
    assert recipe.dataset_mixture.datasets, path


def test_notus_7b_v1_recipe_matches_the_published_setup(monkeypatch):
    monkeypatch.chdir(ROOT)
    recipe = load_recipe(DPORecipe, ROOT / "recipes/train/notus-7b-v1/dpo-full.yaml")
    assert recipe.model_name_or_path == "alignment-handbook/zephyr-7b-sft-full"
    assert recipe.dataset_mixture.datasets[0].id == "argilla/ultrafeedback-binarized-preferences"
    assert (recipe.beta, recipe.learning_rate, recipe.num_train_epochs, recipe.optim) == (
        0.1,
        5e-7,
        3,
        "rmsprop",
    )
    assert (recipe.per_device_train_batch_size, recipe.max_length) == (8, 1024)
    assert recipe.bf16 and recipe.gradient_checkpointing and recipe.backend == "trl"
    offload = yaml.safe_load((ROOT / "recipes/accelerate/deepspeed_zero3_offload.yaml").read_text())
    ds = offload["deepspeed_config"]
    assert (ds["zero_stage"], ds["offload_optimizer_device"], ds["offload_param_device"]) == (3, "cpu", "cpu")
    assert offload["num_processes"] == 8
    lora = load_recipe(DPORecipe, ROOT / "recipes/train/notus-7b-v1/dpo-lora.yaml")
    assert lora.use_peft and lora.beta == 0.1


def test_dpo_in_fp16_is_refused_with_a_clear_message():
    with pytest.raises(RecipeError, match="DPO in fp16 is refused.*bf16"):
        load_recipe(DPORecipe, None, ["fp16=true"])


def test_all_problems_together():
    with pytest.raises(RecipeError) as info:
        load_recipe(
            DPORecipe, None, ["betta=0.1", "loss_type=kl", "max_prompt_length=2048", "max_length=1024"]
        )
    text = str(info.value)
    assert "did you mean 'beta'" in text and "'kl' is not one of" in text
