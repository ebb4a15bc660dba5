"""What a finished run leaves in its folder: the model (safetensors + tokenizer; LoRA adapter + merged
model), a metrics plot (PNG) and a Hub model card (README.md with YAML front matter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from notus.train.recipes import DPORecipe, TrainRecipe

HUB_NAMES = {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}  # embedded models on the Hub
CARD_KEYS = (
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "lr_scheduler_type",
    "warmup_ratio",
    "optim",
    "seed",
    "bf16",
    "use_peft",
    "beta",
    "loss_type",
)


def save_model(model: Any, tokenizer: Any, out: Path, recipe: TrainRecipe) -> None:
    """Plain model folder in `out`; with LoRA the adapter goes to `out/adapter` and the merged model to `out`."""
    if recipe.use_peft:
        model.save_pretrained(out / "adapter")
        if recipe.merge_adapter:
            model = model.merge_and_unload()
        else:
            tokenizer.save_pretrained(out / "adapter")
            return
    if getattr(model.config, "use_cache", None) is False:
        model.config.use_cache = True
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def plot_metrics(metrics: list[dict], path: Path) -> Path | None:
    """Loss (and reward margins / accuracies for DPO) against steps."""
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("loss", "rewards/margins", "rewards/accuracies") if k in metrics[0]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    steps = [m["step"] for m in metrics]
    for ax, key in zip(axes[0], panels):
        ax.plot(steps, [m[key] for m in metrics], marker="o", markersize=3)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def model_card(
    recipe: TrainRecipe,
    method: str,
    base_model: str,
    metrics: list[dict],
    out: Path,
    data_summary: dict[str, Any] | None = None,
    eval_results: dict[str, Any] | None = None,
) -> Path:
    datasets = [spec.id for spec in recipe.dataset_mixture.datasets]
    base_model = HUB_NAMES.get(base_model, base_model)
    front = {
        "base_model": base_model,
        "datasets": [d for d in datasets if not Path(d).expanduser().exists()],  # Hub ids only
        "library_name": "peft" if recipe.use_peft and not recipe.merge_adapter else "transformers",
        "license": recipe.license,
        "tags": ["notus", method, *(["trl"] if recipe.backend == "trl" else []), *recipe.tags],
        "pipeline_tag": "text-generation",
    }
    hyper = {k: getattr(recipe, k) for k in CARD_KEYS if hasattr(recipe, k)}
    hyper["world_size_x_batch"] = recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps
    last = metrics[-1] if metrics else {}
    name = recipe.hub_model_id or out.name
    what = "direct preference optimisation" if isinstance(recipe, DPORecipe) else "supervised fine-tuning"
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).strip(),
        "---",
        "",
        f"# {name}",
        "",
        f"This model is [{base_model}](https://huggingface.co/{base_model}) trained with {what} "
        f"({method}) by [notus](https://github.com/argilla-io/notus) on: {', '.join(datasets) or 'rows given in code'}.",
        "",
        "## Training data",
        "",
        "```json",
        json.dumps(data_summary or {}, indent=2),
        "```",
        "",
        "## Training hyperparameters",
        "",
        "| key | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in hyper.items()],
        "",
        "## Training results (last logging step)",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in last.items()],
        "",
    ]
    if (out / "metrics.png").exists():
        lines += ["![training metrics](metrics.png)", ""]
    if eval_results:
        lines += ["## Evaluation results", "", "```json", json.dumps(eval_results, indent=2), "```", ""]
    lines += [
        "## Reproduce",
        "",
        "```bash",
        f"notus train {method} {out / 'recipe.yaml'}",
        "```",
        "",
    ]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
