"""What every training stage does before and after its loop, whatever the backend: open the run folder
(recipe.yaml, lineage.json), load rows and tokenizer; then save the model, plot, model card, push.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from notus.llm.models import resolve_model
from notus.train.data import load_mixture, looks_local
from notus.train.export import hub_base_model, model_card, plot_metrics, push_to_hub, save_model
from notus.train.loop import Runtime, setup_runtime
from notus.train.recipes import TrainRecipe

PACKAGES = ("torch", "transformers", "trl", "accelerate", "peft", "datasets", "deepspeed")


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
    runtime = setup_runtime(recipe)
    out = Path(recipe.output_dir)
    if train_rows is None:
        from notus.core.errors import RecipeError

        if not recipe.datasets:
            raise RecipeError(
                ["no dataset: set dataset_mixture (or dataset_mixer / dataset_name), or --dataset"]
            )
        train_rows, mixed_eval = load_mixture(recipe.data.dataset_mixture)
        eval_rows = mixed_eval if eval_rows is None else eval_rows
    if recipe.max_train_samples:
        train_rows = train_rows[: recipe.max_train_samples]
    check_rows(recipe, train_rows, runtime.world)
    if runtime.main:
        out.mkdir(parents=True, exist_ok=True)
        write_recipe(recipe, out / "recipe.yaml")
        write_lineage(recipe, out / "lineage.json")
    from transformers import AutoTokenizer

    path = model_path or resolve_model(recipe.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path, revision=recipe.model_revision)
    if recipe.chat_template:
        tokenizer.chat_template = read_template(recipe.chat_template)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Stage(recipe, runtime, out, path, tokenizer, list(train_rows), list(eval_rows or []))


def check_rows(recipe: TrainRecipe, rows: list[dict], world: int) -> None:
    """The rows fit the method and make at least one step, checked before the run folder exists."""
    from notus.core.errors import DataError
    from notus.train.data import to_conversation, to_preference

    if not rows:
        names = ", ".join(spec.id for spec in recipe.datasets) or "the rows given"
        raise DataError(f"no training rows in {names}: check the file and dataset_mixture.test_split_size")
    shape = to_conversation if recipe.method == "sft" else to_preference
    for i, row in enumerate(rows):
        if recipe.method == "kto" and "label" in row and "completion" in row:
            continue
        shape(row, i)
    batch = recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps * world
    if recipe.backend == "notus" and len(rows) < batch:
        raise DataError(
            f"{len(rows)} training rows are fewer than one global batch of {batch} "
            "(per_device_train_batch_size x gradient_accumulation_steps x processes): give more rows or a smaller batch"
        )


def read_template(value: str) -> str:
    """A chat template given inline (Jinja text) or as a path to a .jinja file."""
    if "{" in value or "\n" in value:
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return path.read_text(encoding="utf-8")
    from notus.core.errors import RecipeError

    raise RecipeError([f"chat_template: {value!r} is neither Jinja text nor an existing file"])


def write_recipe(recipe: TrainRecipe, path: Path) -> None:
    """The recipe as given, local dataset paths made absolute, so `notus train METHOD recipe.yaml`
    reruns it from the run folder."""
    keys = json.loads(json.dumps(recipe.keys, default=str))
    for spec in (keys.get("dataset_mixture") or {}).get("datasets") or []:
        if isinstance(spec, dict) and Path(str(spec.get("id", ""))).expanduser().exists():
            spec["id"] = str(Path(spec["id"]).expanduser().resolve())
    text = f"# notus train {recipe.method} recipe.yaml\n" + yaml.safe_dump(keys, sort_keys=False)
    path.write_text(text, encoding="utf-8")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _git_commit() -> str | None:
    source = Path(__file__).resolve().parents[3]
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def lineage(recipe: TrainRecipe) -> dict[str, Any]:
    from notus import __version__

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    data = {}
    for spec in recipe.datasets + recipe.data.dataset_mixture.eval_datasets:
        path = Path(spec.id).expanduser()
        if path.exists():
            data[spec.id] = {"sha256": file_digest(path), "split": spec.split}
        elif not looks_local(spec.id):
            data[spec.id] = {"hub": True, "config": spec.config, "split": spec.split}
    canonical = json.dumps(recipe.keys, sort_keys=True, default=str).encode()
    return {
        "notus": __version__,
        "notus_git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "packages": versions,
        "method": recipe.method,
        "backend": recipe.backend,
        "base_model": hub_base_model(recipe.model_name_or_path),
        "recipe_sha256": hashlib.sha256(canonical).hexdigest(),
        "data": data,
        "notes": recipe.notes,
    }


def write_lineage(recipe: TrainRecipe, path: Path) -> None:
    path.write_text(json.dumps(lineage(recipe), indent=2) + "\n", encoding="utf-8")


def finish_stage(
    stage: Stage,
    model: Any,
    result: dict[str, Any],
    data_summary: dict[str, Any],
    trainer: Any = None,
) -> dict[str, Any]:
    out, recipe = stage.out, stage.recipe
    save_model(model, stage.tokenizer, out, recipe, trainer)
    if stage.runtime.main:
        plot_metrics(result["metrics"], out / "metrics.png")
        evals = result.get("eval_metrics")
        model_card(recipe, out, result["metrics"], data_summary, evals, stage.runtime.world)
        summary = {k: v for k, v in result.items() if k != "metrics"}
        summary.update(world_size=stage.runtime.world, data_summary=data_summary)
        (out / "train_results.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        if recipe.push_to_hub:
            result["push"] = push_to_hub(recipe, out)
            print(f"notus: {result['push']}", file=sys.stderr)
    if stage.runtime.world > 1:
        import torch

        torch.distributed.barrier()
    return {"output_dir": str(out), "recipe": recipe.keys, **result}
