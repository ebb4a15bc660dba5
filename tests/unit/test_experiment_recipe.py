"""Experiment recipes: the shipped one is the default of `notus run`, every shipped experiment passes
`--check` offline, stages resolve to the stage commands' own recipes, and bad input names the field."""

import subprocess
import sys
from pathlib import Path

import pytest

from notus.core.config import load_recipe
from notus.core.errors import NotusError, RecipeError
from notus.data.recipe import CurateRecipe
from notus.experiment.recipe import (
    ExperimentRecipe,
    check_stages,
    data_recipe,
    eval_args,
    load_experiment,
    train_recipe,
)
from notus.train.recipes import load_train_recipe

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "recipes" / "experiments").glob("*.yaml"))


def test_shipped_recipe_is_the_default():
    assert load_recipe(ExperimentRecipe, ROOT / "recipes" / "notus_experiment.yaml") == ExperimentRecipe()
    assert load_experiment(None, []) == ExperimentRecipe()
    assert len(ExperimentRecipe().seeds) >= 3


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.name for p in EXPERIMENTS])
def test_every_shipped_experiment_passes_check_offline(path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-m", "notus", "run", str(path), "--check"], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "experiment recipe OK" in out.stderr


def test_stages_are_the_stage_commands_recipes(tmp_path):
    recipe = load_experiment(str(ROOT / "recipes" / "notus_experiment.yaml"), ["train.max_steps=3"])
    curate = data_recipe(recipe, "notus", str(tmp_path / "notus.jsonl"))
    assert isinstance(curate, CurateRecipe) and curate.strategy == "notus" and curate.test_size == 0.2
    assert curate.input.endswith("ultrafeedback_mini.jsonl") and Path(curate.input).is_file()
    tr = train_recipe(recipe, "pairs.jsonl", str(tmp_path / "m"), 7, progress=False)
    assert (tr.max_steps, tr.seed, tr.output_dir, tr.backend) == (3, 7, str(tmp_path / "m"), "notus")
    assert [d.id for d in tr.datasets] == ["pairs.jsonl"]
    # a stage given as a file is read by the stage's own parser, and overrides reach its keys
    recipe = load_experiment(None, ["train=recipes/train/cpu/dpo.yaml"])
    file_recipe = load_train_recipe("dpo", "recipes/train/cpu/dpo.yaml", None, "pairs.jsonl")
    tr = train_recipe(recipe, "pairs.jsonl", file_recipe.output_dir, file_recipe.seed, progress=True)
    assert tr.keys == {**file_recipe.keys, "disable_tqdm": False}
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("train: recipes/train/cpu/dpo.yaml\n")
    recipe = load_experiment(str(experiment), ["train.beta=0.3"])
    assert recipe.train["beta"] == 0.3 and recipe.train["loss_type"] == "sigmoid"


def test_bad_input_names_the_field():
    with pytest.raises(RecipeError, match="strategies: 'zephyrr'"):
        load_experiment(None, ["strategies=[zephyrr, notus]"])
    with pytest.raises(RecipeError, match="seeds: .* repeats a seed"):
        load_experiment(None, ["seeds=[1, 1]"])
    with pytest.raises(NotusError, match="data: recipe file 'no/such.yaml' does not exist"):
        check_stages(load_experiment(None, ["data=no/such.yaml"]))
    with pytest.raises(NotusError, match="test_size: the experiment needs held-out prompts"):
        check_stages(load_experiment(None, ["data.test_size=0"]))
    with pytest.raises(NotusError, match="(?s)train: .*lerning_rate: unknown key"):
        check_stages(load_experiment(None, ["train.lerning_rate=1e-5"]))
    with pytest.raises(RecipeError, match="eval.alpaca: unrecognized arguments: --judge-modle"):
        eval_args("alpaca", {"judge_modle": "gpt-4"}, "m", "out")
    args = eval_args("alpaca", {"judge_model": "gpt-4", "max_instances": 5}, "m", "out")
    assert (args.judge_model, args.max_instances, args.model, args.output) == ("gpt-4", 5, "m", "out")


def test_a_strategy_without_training_pairs_stops_the_run_before_training(tmp_path, capsys):
    import json

    from notus.cli.main import main as notus
    from notus.experiment.recipe import sample_path

    rows = [json.loads(line) for line in Path(sample_path()).read_text().splitlines()[:12]]
    for row in rows:  # no critique scores: the zephyr strategy has nothing to rank by
        for c in row["completions"]:
            c.pop("overall_score", None)
    data = tmp_path / "rated.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = notus(["run", f"data.input={data}", f"output_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2 and "strategy zephyr: no training pairs after curation" in err
    assert "fewer than two rated completions: 12" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "models").exists()  # stopped before any training


def test_check_says_when_llama_cpp_is_missing(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else find_spec(name, *a)
    )
    recipe = load_experiment(str(ROOT / "recipes" / "experiments" / "loop-cpu.yaml"), [])
    monkeypatch.chdir(ROOT)
    with pytest.raises(NotusError, match="needs llama-cpp-python, which is not installed"):
        check_stages(recipe)
