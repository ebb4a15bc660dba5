"""What a finished run leaves in its folder: the model (safetensors + tokenizer; LoRA adapter + merged
model), a metrics plot (PNG), a Hub model card (README.md, built with huggingface_hub's ModelCard) and,
when the recipe says `push_to_hub: true`, the same folder pushed to `hub_model_id`.

    notus train card runs/dpo      # rebuild the card, e.g. after `notus eval harness ... --output runs/dpo/eval/harness`
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from notus.train.recipes import TrainRecipe

HUB_NAMES = {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}  # embedded models on the Hub
CARD_KEYS = (
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "max_prompt_length",
    "lr_scheduler_type",
    "warmup_steps",
    "optim",
    "seed",
    "bf16",
    "use_peft",
    "beta",
    "loss_type",
)
METHOD_TEXT = {
    "dpo": "direct preference optimisation (DPO)",
    "sft": "supervised fine-tuning (SFT)",
    "kto": "Kahneman-Tversky optimisation (KTO)",
    "orpo": "odds-ratio preference optimisation (ORPO)",
}


def save_model(model: Any, tokenizer: Any, out: Path, recipe: TrainRecipe, trainer: Any = None) -> None:
    """Full weights in `out` (safetensors); with LoRA the adapter goes to `out/adapter` and the merged model
    to `out`. A TRL run saves through its trainer, which gathers ZeRO-3 / FSDP shards into full tensors."""
    if trainer is not None and not recipe.use_peft:
        if trainer.is_fsdp_enabled:  # SHARDED_STATE_DICT (fast checkpoints) would save no weights here
            trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
        trainer.save_model(str(out))  # every rank must call it: the gather is collective
        if trainer.accelerator.is_main_process:
            if trainer.is_deepspeed_enabled and not _has_weights(out):
                _zero_to_safetensors(out, trainer.accelerator.unwrap_model(trainer.model))
            tokenizer.save_pretrained(out)
            _use_cache(out)
        return
    if trainer is not None:
        model = trainer.accelerator.unwrap_model(trainer.model)
        if not trainer.accelerator.is_main_process:
            return
    if recipe.use_peft:
        model.save_pretrained(out / "adapter")
        if not recipe.merge_adapter:
            tokenizer.save_pretrained(out / "adapter")
            return
        model = model.merge_and_unload()
    if getattr(model.config, "use_cache", None) is False:
        model.config.use_cache = True
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def _has_weights(out: Path) -> bool:
    return any((out / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json"))


def _zero_to_safetensors(out: Path, model: Any) -> None:
    """ZeRO-3 without `stage3_gather_16bit_weights_on_model_save` (accelerate: `zero3_save_16bit_model`):
    the Trainer saved a sharded DeepSpeed checkpoint instead of weights. Consolidate it with DeepSpeed's
    zero_to_fp32 into full fp32 weights, saved by the model (tied weights once), then drop the shards."""
    import shutil

    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    tag = (out / "latest").read_text(encoding="utf-8").strip()
    state = get_fp32_state_dict_from_zero_checkpoint(str(out), tag=tag)
    model.save_pretrained(out, state_dict=state, safe_serialization=True)
    shutil.rmtree(out / tag)
    for name in ("latest", "zero_to_fp32.py", "zero_to_torch.py"):
        (out / name).unlink(missing_ok=True)


def _use_cache(out: Path) -> None:
    """Gradient checkpointing turns the KV cache off in the saved config; inference wants it on."""
    config = out / "config.json"
    if config.is_file():
        data = json.loads(config.read_text(encoding="utf-8"))
        if data.get("use_cache") is False:
            data["use_cache"] = True
            config.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


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
        ax.plot(steps, [m.get(key) for m in metrics], marker="o", markersize=3)
        ax.set_title(key)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def hub_base_model(name: str) -> str | None:
    """The base model's Hub id, or None for a local folder (never a local path in the card)."""
    from notus.train.data import looks_local

    name = HUB_NAMES.get(name, name)
    if Path(name).expanduser().exists() or looks_local(name):
        lineage = Path(name).expanduser() / "lineage.json"  # a model notus trained: its own base model
        if lineage.is_file():
            return json.loads(lineage.read_text(encoding="utf-8")).get("base_model")
        return None
    return name


def eval_results(out: Path, eval_metrics: dict[str, Any] | None) -> list[Any]:
    """huggingface_hub EvalResults for the card's model-index: the held-out preference metrics of
    training, and every lm-eval-harness `results.json` that `notus eval harness --output RUN/eval/...` wrote."""
    from huggingface_hub import EvalResult

    rows = []
    for key in ("eval/rewards/accuracies", "eval/loss"):
        if eval_metrics and isinstance(eval_metrics.get(key), int | float):
            rows.append(
                EvalResult(
                    task_type="text-generation",
                    task_name="Preference accuracy (implicit reward, held-out pairs)",
                    dataset_type="held-out-preference-pairs",
                    dataset_name=f"held-out pairs (n={eval_metrics.get('eval/pairs')})",
                    metric_type=key.split("/", 1)[1].replace("/", "_"),
                    metric_value=round(float(eval_metrics[key]), 4),
                )
            )
    for path in sorted(out.glob("eval/**/results.json")):
        try:
            results = json.loads(path.read_text(encoding="utf-8")).get("results", {})
        except (OSError, ValueError, AttributeError):
            continue
        for task, metrics in results.items() if isinstance(results, dict) else []:
            for metric, value in (metrics or {}).items():
                if isinstance(value, int | float) and not isinstance(value, bool) and "stderr" not in metric:
                    rows.append(
                        EvalResult(
                            task_type="text-generation",
                            task_name=task,
                            dataset_type=task,
                            dataset_name=task,
                            metric_type=metric.split(",")[0],
                            metric_value=round(float(value), 4),
                            source_name="lm-evaluation-harness (notus eval harness)",
                            source_url="https://github.com/EleutherAI/lm-evaluation-harness",
                        )
                    )
    return rows


def model_card(
    recipe: TrainRecipe,
    out: Path,
    metrics: list[dict],
    data_summary: dict[str, Any] | None = None,
    eval_metrics: dict[str, Any] | None = None,
    world: int = 1,
) -> Path:
    """README.md with Hub metadata (base_model, datasets, license, tags, model-index) and the run's facts."""
    from huggingface_hub import ModelCard, ModelCardData

    from notus import __version__
    from notus.train.data import looks_local

    base = hub_base_model(recipe.model_name_or_path)
    hub_datasets = [s.id for s in recipe.datasets if not looks_local(s.id) and not Path(s.id).exists()]
    name = recipe.hub_model_id or out.name
    results = eval_results(out, eval_metrics)
    data = ModelCardData(
        base_model=base,
        datasets=hub_datasets or None,
        license=recipe.license,
        library_name="peft" if recipe.use_peft and not recipe.merge_adapter else "transformers",
        tags=sorted({"notus", recipe.method, *(["trl"] if recipe.backend == "trl" else []), *recipe.tags}),
        pipeline_tag="text-generation",
        model_name=name if results else None,
        eval_results=results or None,
    )
    hyper = {k: _plain(getattr(recipe, k)) for k in CARD_KEYS if _has(recipe, k)}
    hyper["world_size"] = world
    hyper["global_batch_size"] = (
        recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps * world
    )
    last = {
        k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in (metrics[-1] if metrics else {}).items()
    }
    local = [Path(s.id).name for s in recipe.datasets if s.id not in hub_datasets]
    names = [f"[{d}](https://huggingface.co/datasets/{d})" for d in hub_datasets] + [f"`{n}`" for n in local]
    what = METHOD_TEXT.get(recipe.method, recipe.method)
    base_text = f"[{base}](https://huggingface.co/{base})" if base else "a local model"
    card = ModelCard.from_template(
        data,
        template_str=resources.files("notus.train").joinpath("templates/model_card.md").read_text("utf-8"),
        model_name=name,
        repo_ref=recipe.hub_model_id or str(out),
        summary=f"This model is {base_text} trained with {what} by notus.",
        data_text="Datasets: " + (", ".join(names) or "rows given in code") + " (local files by name; "
        "their content hashes are in `lineage.json`).",
        data_json=json.dumps(data_summary or {}, indent=2, default=str),
        method_text=f"{what.capitalize()} with the `{recipe.backend}` backend.",
        hyper=hyper,
        last=last,
        has_plot=(out / "metrics.png").exists(),
        eval_rows=results,
        reproduce=f"notus train {recipe.method} recipe.yaml",
        notus_version=__version__,
    )
    path = out / "README.md"
    card.save(path)
    return path


def _has(recipe: TrainRecipe, key: str) -> bool:
    try:
        getattr(recipe, key)
        return True
    except AttributeError:
        return False


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)  # enums as their names
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


def push_to_hub(recipe: TrainRecipe, out: Path) -> str:
    """Upload the run folder (model, card, recipe, lineage, metrics; no checkpoints) to `hub_model_id`.
    Returns one line saying what happened; offline or without a token the local run stays complete."""
    from huggingface_hub import HfApi
    from huggingface_hub.constants import HF_HUB_OFFLINE

    repo = recipe.hub_model_id or out.name
    if HF_HUB_OFFLINE:
        return (
            f"push_to_hub: HF_HUB_OFFLINE is set, so {repo} was not pushed; the run folder {out} is complete"
        )
    try:
        api = HfApi()
        url = api.create_repo(repo, private=bool(recipe.hub_private_repo), exist_ok=True)
        api.upload_folder(
            repo_id=url.repo_id,
            folder_path=str(out),
            ignore_patterns=["checkpoint-*/**", "checkpoints/**", "tensorboard/**", "*.partial/**"],
            commit_message=f"notus train {recipe.method}",
        )
    except Exception as exc:  # network, auth, permissions: the run itself succeeded
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return f"push_to_hub: {repo} was not pushed ({reason}); the run folder {out} is complete"
    return f"push_to_hub: pushed {out} to https://huggingface.co/{url.repo_id}"
