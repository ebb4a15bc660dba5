"""`backend: trl`: the same recipes through TRL's trainers, for GPUs with accelerate + DeepSpeed / FSDP,
and the methods notus wraps rather than reimplements (KTO, ORPO).

    accelerate launch --config_file recipes/accelerate/deepspeed_zero3_offload.yaml \\
        -m notus train dpo recipes/train/notus-7b-v1/dpo-full.yaml
    notus train kto recipes/train/cpu/kto.yaml
    notus train orpo recipes/train/cpu/orpo.yaml

On CPU TRL needs `use_cpu=True` (its bf16 default fails otherwise); this module sets it when no GPU
is present. Metrics are copied from TRL's log history into the run folder's metrics.jsonl.
"""

from __future__ import annotations

from typing import Any

import torch

from notus.core.runs import write_jsonl
from notus.train.data import to_conversation, to_preference
from notus.train.recipes import DPORecipe, SFTRecipe, TrainRecipe
from notus.train.stage import Stage, finish_stage


def training_args(recipe: TrainRecipe) -> dict[str, Any]:
    """TrainingArguments keys shared by every TRL config."""
    cpu = not torch.cuda.is_available()
    return {
        "output_dir": str(recipe.output_dir),
        "learning_rate": recipe.learning_rate,
        "num_train_epochs": recipe.num_train_epochs,
        "max_steps": recipe.max_steps,
        "per_device_train_batch_size": recipe.per_device_train_batch_size,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "lr_scheduler_type": recipe.lr_scheduler_type,
        "warmup_steps": recipe.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the steps
        "optim": recipe.optim,
        "weight_decay": recipe.weight_decay,
        "max_grad_norm": recipe.max_grad_norm,
        "seed": recipe.seed,
        "bf16": recipe.bf16 and not cpu,
        "fp16": recipe.fp16 and not cpu,
        "use_cpu": cpu,
        "gradient_checkpointing": recipe.gradient_checkpointing,
        "logging_steps": recipe.logging_steps,
        "save_strategy": "steps" if recipe.save_steps else "no",
        "save_steps": recipe.save_steps or 500,
        "save_total_limit": recipe.save_total_limit,
        "report_to": [r for r in recipe.report_to if r != "jsonl"] or "none",
        "disable_tqdm": not recipe.progress_bar,
        "max_length": recipe.max_length,
    }


def peft_config(recipe: TrainRecipe):
    if not recipe.use_peft:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=recipe.lora_target_modules,
        task_type="CAUSAL_LM",
    )


def _model(stage: Stage):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {
        "dtype": torch.bfloat16 if stage.recipe.bf16 and torch.cuda.is_available() else None
    }
    if stage.recipe.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16
        )
    return AutoModelForCausalLM.from_pretrained(stage.model_path, **{k: v for k, v in kwargs.items() if v})


def _run(stage: Stage, trainer: Any, method: str) -> dict[str, Any]:
    resume = stage.recipe.save_steps > 0 and any(stage.out.glob("checkpoint-*"))
    output = trainer.train(resume_from_checkpoint=True if resume else None)
    metrics = [{"step": h["step"], **h} for h in trainer.state.log_history if "loss" in h]
    if stage.runtime.main:
        write_jsonl(stage.out / "metrics.jsonl", metrics)
    model = trainer.model
    result = {
        "metrics": metrics,
        "train_runtime": output.metrics.get("train_runtime"),
        "global_step": output.global_step,
    }
    return finish_stage(stage, model, method, result, {"rows": len(stage.train_rows), "backend": "trl"})


def train_dpo_trl(stage: Stage) -> dict[str, Any]:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    recipe = stage.recipe
    assert isinstance(recipe, DPORecipe)
    rows = [to_preference(r, i) for i, r in enumerate(stage.train_rows)]
    loss = {"simpo": "sigmoid_norm", "rpo": "sigmoid"}.get(recipe.loss_type, recipe.loss_type)
    args = DPOConfig(
        **training_args(recipe),
        beta=recipe.beta,
        loss_type=[loss, "sft"] if recipe.loss_type == "rpo" else [loss],
        loss_weights=[1.0, recipe.rpo_alpha] if recipe.loss_type == "rpo" else None,
        label_smoothing=recipe.label_smoothing,
        precompute_ref_log_probs=True,
    )
    trainer = DPOTrainer(
        model=_model(stage),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=stage.tokenizer,
        peft_config=peft_config(recipe),
    )
    return _run(stage, trainer, "dpo")


def train_sft_trl(stage: Stage) -> dict[str, Any]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    recipe = stage.recipe
    assert isinstance(recipe, SFTRecipe)
    rows = [{"messages": to_conversation(r, i)} for i, r in enumerate(stage.train_rows)]
    args = SFTConfig(
        **training_args(recipe), packing=recipe.packing, assistant_only_loss=recipe.assistant_only_loss
    )
    trainer = SFTTrainer(
        model=_model(stage),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=stage.tokenizer,
        peft_config=peft_config(recipe),
    )
    return _run(stage, trainer, "sft")


def kto_rows(rows: list[dict]) -> list[dict]:
    """KTO wants unpaired (prompt, completion, label); a preference pair gives one desirable, one not."""
    out = []
    for i, row in enumerate(rows):
        if "label" in row and "completion" in row:
            out.append(
                {"prompt": row["prompt"], "completion": row["completion"], "label": bool(row["label"])}
            )
            continue
        pair = to_preference(row, i)
        out.append({"prompt": pair["prompt"], "completion": pair["chosen"], "label": True})
        out.append({"prompt": pair["prompt"], "completion": pair["rejected"], "label": False})
    return out


def train_unpaired(method: str, recipe: DPORecipe, train_rows: list[dict] | None = None) -> dict[str, Any]:
    """`notus train kto|orpo`: a DPO-style recipe (beta, data, optimisation) run by TRL's trainer."""
    from notus.train.stage import open_stage

    stage = open_stage(recipe, train_rows, None)
    return train_kto(stage) if method == "kto" else train_orpo(stage)


def train_kto(stage: Stage) -> dict[str, Any]:
    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    recipe = stage.recipe
    args = KTOConfig(**training_args(recipe), beta=getattr(recipe, "beta", 0.1))
    trainer = KTOTrainer(
        model=_model(stage),
        args=args,
        train_dataset=Dataset.from_list(kto_rows(stage.train_rows)),
        processing_class=stage.tokenizer,
        peft_config=peft_config(recipe),
    )
    return _run(stage, trainer, "kto")


def train_orpo(stage: Stage) -> dict[str, Any]:
    from datasets import Dataset
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    recipe = stage.recipe
    rows = [to_preference(r, i) for i, r in enumerate(stage.train_rows)]
    args = ORPOConfig(**training_args(recipe), beta=getattr(recipe, "beta", 0.1))
    trainer = ORPOTrainer(
        model=_model(stage),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=stage.tokenizer,
        peft_config=peft_config(recipe),
    )
    return _run(stage, trainer, "orpo")
