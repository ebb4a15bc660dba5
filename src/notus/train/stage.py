"""What every training stage does before and after its loop: check the recipe, open the run folder,
load rows and tokenizer; then save the model, plot, model card, and the result dict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notus.core.config import recipe_to_dict
from notus.core.errors import RecipeError
from notus.core.runs import start_run
from notus.llm.models import resolve_model
from notus.train.data import load_mixture
from notus.train.export import model_card, plot_metrics, save_model
from notus.train.loop import Runtime, setup_runtime
from notus.train.recipes import TrainRecipe


@dataclass
class Stage:
    recipe: TrainRecipe
    runtime: Runtime
    out: Path
    model_path: str
    tokenizer: Any
    train_rows: list[dict]
    eval_rows: list[dict]


def open_stage(
    recipe: TrainRecipe,
    train_rows: list[dict] | None,
    eval_rows: list[dict] | None,
    model_path: str | None = None,
) -> Stage:
    problems = recipe.check()  # also when the recipe was built in Python rather than loaded from YAML
    if problems:
        raise RecipeError(problems, type(recipe).__name__)
    runtime = setup_runtime(recipe)
    out = Path(recipe.output_dir)
    if runtime.main:
        start_run(out, recipe)
    if train_rows is None:
        if not recipe.dataset_mixture.datasets:
            raise RecipeError(
                ["dataset_mixture.datasets: give at least one dataset (a local file or a Hub id)"]
            )
        train_rows, mixed_eval = load_mixture(recipe.dataset_mixture)
        eval_rows = mixed_eval if eval_rows is None else eval_rows
    if recipe.max_train_samples:
        train_rows = train_rows[: recipe.max_train_samples]
    from transformers import AutoTokenizer

    path = model_path or resolve_model(recipe.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if recipe.chat_template:
        template = Path(recipe.chat_template).expanduser()
        tokenizer.chat_template = template.read_text() if template.is_file() else recipe.chat_template
    return Stage(recipe, runtime, out, path, tokenizer, list(train_rows), list(eval_rows or []))


def finish_stage(
    stage: Stage, model: Any, method: str, result: dict[str, Any], data_summary: dict[str, Any]
) -> dict[str, Any]:
    out, recipe = stage.out, stage.recipe
    if stage.runtime.main:
        save_model(model, stage.tokenizer, out, recipe)
        plot_metrics(result["metrics"], out / "metrics.png")
        evals = result.get("eval_metrics")
        model_card(recipe, method, recipe.model_name_or_path, result["metrics"], out, data_summary, evals)
        summary = {k: v for k, v in result.items() if k != "metrics"}
        (out / "train_results.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    if stage.runtime.world > 1:
        import torch

        torch.distributed.barrier()
    return {"output_dir": str(out), "recipe": recipe_to_dict(recipe), **result}
