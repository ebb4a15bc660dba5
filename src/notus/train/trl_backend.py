"""`backend: trl`: the recipe's own TRL config handed to TRL's trainers, for GPUs with accelerate +
DeepSpeed / FSDP, and the methods notus wraps rather than reimplements (KTO, ORPO, SimPO via CPO).

    accelerate launch --config_file recipes/accelerate/deepspeed_zero3.yaml \\
        -m notus train dpo recipes/train/notus-7b-v1/dpo-full.yaml
    notus train kto recipes/train/cpu/kto.yaml

The recipe was parsed into TRL's `DPOConfig`/`SFTConfig`/... (see `recipes.py`), so every TRL key is
honoured as TRL defines it; notus only adds what TRL 1.16 does not have:
- `max_prompt_length`: prompts longer than it keep their last tokens (as the notus backend does);
- `loss_type: rpo` (TRL's `[sigmoid, sft]` with weights `[1, rpo_alpha]`) and `loss_type: simpo`
  (TRL's CPO trainer with `loss_type="simpo"`, `cpo_alpha=0`: reference-free, length-normalised);
- SFT rows are tokenized by notus (`train/data.py`, the same tokens as the notus backend: the chat
  template's own rendering, loss on assistant tokens) and handed to TRL pre-tokenized, so templates
  without `{% generation %}` markers train too;
- the push to the Hub happens once, at the end, for both backends (`export.push_to_hub`).
Saving goes through `trainer.save_model`, which gathers ZeRO-3 / FSDP shards into full weights.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from notus.core.runs import write_jsonl
from notus.train.data import Templater, to_preference, tokenize_conversations
from notus.train.stage import Stage, finish_stage, open_stage

TRL_LOSS_KEYS = ("loss_type", "loss_weights", "beta", "cpo_alpha", "simpo_gamma", "label_smoothing")


def trl_args(stage: Stage, config_cls: type | None = None, **changes: Any) -> Any:
    """The recipe's TRL config for this run: output to the run folder, no push from inside TRL (notus
    pushes once at the end), optionally rebuilt as another TRL config class (e.g. CPOConfig)."""
    args = stage.recipe.args
    values = {"output_dir": str(stage.out), "push_to_hub": False, **changes}
    if config_cls is None:
        args = copy.copy(args)
        for key, value in values.items():
            setattr(args, key, value)
        return args
    names = {f.name for f in dataclasses.fields(config_cls) if f.init}
    kept = {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.init and f.name in names}
    return config_cls(**{**kept, **values})


def peft_config(stage: Stage):
    recipe = stage.recipe
    if not recipe.use_peft:
        return None
    from trl.trainer.utils import get_peft_config

    return get_peft_config(recipe.model)


def load_model(stage: Stage):
    """TRL's own model kwargs from ModelConfig (dtype, attention, quantization), then the model."""
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import get_quantization_config

    recipe = stage.recipe
    dtype = recipe.dtype if recipe.dtype in ("auto", None) else getattr(torch, recipe.dtype)
    if not torch.cuda.is_available():
        dtype = torch.float32  # CPU: fp32 weights (bf16 autocast when the recipe asks for bf16)
    kwargs: dict[str, Any] = {
        "revision": recipe.model_revision,
        "attn_implementation": recipe.attn_implementation or "sdpa",
        "dtype": dtype,
    }
    quantization = get_quantization_config(recipe.model)
    if quantization is not None:
        from accelerate import PartialState

        kwargs.update(quantization_config=quantization, device_map={"": PartialState().local_process_index})
    return AutoModelForCausalLM.from_pretrained(stage.model_path, **kwargs)


def clip_prompt(prompt: list[dict], templater: Templater, limit: int | None) -> list[dict]:
    """Keep the prompt's last `limit` tokens (TRL 1.16 has no max_prompt_length): drop leading turns,
    then cut the first remaining message from its start."""
    if limit is None or len(templater.prompt_ids(prompt)) <= limit:
        return prompt
    messages = [dict(m) for m in prompt]
    while len(messages) > 1 and len(templater.prompt_ids(messages[1:])) > limit:
        messages = messages[1:]
    if len(messages) > 1 and len(templater.prompt_ids(messages)) > limit:
        messages = messages[1:]
    tokenizer = templater.tokenizer
    content = tokenizer(messages[0]["content"], add_special_tokens=False)["input_ids"]
    for _ in range(8):  # each pass cuts what is still over; templates add a few tokens around content
        excess = len(templater.prompt_ids(messages)) - limit
        if excess <= 0:
            break
        content = content[min(len(content), excess) :]
        messages[0]["content"] = tokenizer.decode(content)
    return messages


def last_checkpoint(out: Path) -> str | None:
    """The newest complete `checkpoint-N` in `out`: one whose trainer_state.json (written last) parses, so a
    run killed while writing a checkpoint resumes from the one before it."""
    steps = []
    for path in out.glob("checkpoint-*") if out.is_dir() else []:
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
            steps.append((int(path.name.split("-", 1)[1]), path))
        except (OSError, ValueError):
            continue
    return str(max(steps)[1]) if steps else None


def engine(trainer: Any) -> dict[str, Any]:
    """What accelerate actually ran (a launcher config it cannot honour falls back silently, e.g. FSDP on
    CPU runs as plain DDP): the distributed type, world size and DeepSpeed's ZeRO stage and offload."""
    state = trainer.accelerator.state
    info: dict[str, Any] = {
        "distributed_type": str(state.distributed_type.value),
        "world_size": state.num_processes,
    }
    plugin = getattr(state, "deepspeed_plugin", None)
    if trainer.is_deepspeed_enabled and plugin is not None:
        zero = plugin.deepspeed_config.get("zero_optimization", {})
        info["zero_stage"] = zero.get("stage")
        for part in ("offload_optimizer", "offload_param"):
            info[part] = (zero.get(part) or {}).get("device", "none")
    fsdp = getattr(state, "fsdp_plugin", None)
    if trainer.is_fsdp_enabled and fsdp is not None:
        info["fsdp_version"] = fsdp.fsdp_version
    return info


def _run(stage: Stage, trainer: Any) -> dict[str, Any]:
    last = last_checkpoint(stage.out)
    output = trainer.train(resume_from_checkpoint=last)
    logged = trainer.state.log_history
    finite = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v  # noqa: E731 - JSON has no NaN
    metrics = [{k: finite(v) for k, v in h.items()} for h in logged if "loss" in h or "train_loss" in h]
    if stage.runtime.main:
        write_jsonl(stage.out / "metrics.jsonl", metrics)
    result = {
        "metrics": metrics,
        "train_runtime": output.metrics.get("train_runtime"),
        "global_step": output.global_step,
        "resumed_from": last,
        "trainer": type(trainer).__name__,
        "trl_config": {k: getattr(trainer.args, k) for k in TRL_LOSS_KEYS if hasattr(trainer.args, k)},
        "engine": engine(trainer),
    }
    evals = [h for h in logged if any(k.startswith("eval_") for k in h)]
    if evals:
        result["eval_metrics"] = {k.replace("eval_", "eval/", 1): v for k, v in evals[-1].items()}
    summary = {"train_rows": len(stage.train_rows), "eval_rows": len(stage.eval_rows), "backend": "trl"}
    return finish_stage(stage, trainer.model, result, summary, trainer)


def _eval_dataset(stage: Stage, rows: list[dict], build: Any = None):
    from datasets import Dataset

    strategy = str(getattr(stage.recipe.eval_strategy, "value", stage.recipe.eval_strategy))
    if not rows or strategy == "no":
        return None
    return build(stage, rows) if build else Dataset.from_list(rows)


def _on_disk(stage: Stage, rows: list[dict]):
    """The rows as a Dataset; with `precompute_ref_log_probs` under a launcher, one saved in the datasets
    cache that every rank reads. TRL writes the reference log-probs next to the dataset's files on rank 0
    and reads them on every rank: an in-memory dataset's folder is a per-process temporary one, so rank 1
    failed with `FileNotFoundError: ... /tmp/hf_datasets-XXXX/cache-....arrow`."""
    import hashlib

    from datasets import Dataset, config, load_from_disk

    if stage.runtime.world == 1 or not stage.recipe.precompute_ref_log_probs:
        return Dataset.from_list(rows)
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = Path(config.HF_DATASETS_CACHE) / "notus-rows" / digest
    if stage.runtime.main and not (path / "dataset_info.json").is_file():
        Dataset.from_list(rows).save_to_disk(str(path))
    import torch

    torch.distributed.barrier()
    return load_from_disk(str(path))


def _preferences(stage: Stage, rows: list[dict]) -> list[dict]:
    templater = Templater(stage.tokenizer)
    limit = stage.recipe.max_prompt_length
    pairs = [to_preference(r, i) for i, r in enumerate(rows)]
    return [{**p, "prompt": clip_prompt(p["prompt"], templater, limit)} for p in pairs]


def train_dpo_trl(stage: Stage) -> dict[str, Any]:
    from trl import DPOTrainer

    recipe = stage.recipe
    losses = list(recipe.loss_type)
    if losses == ["simpo"]:
        return train_simpo(stage)
    changes: dict[str, Any] = {}
    if losses == ["rpo"]:
        changes = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, recipe.rpo_alpha]}
    train = _on_disk(stage, _preferences(stage, stage.train_rows))
    trainer = DPOTrainer(
        model=load_model(stage),
        ref_model=recipe.ref_model_name_or_path and _reference(stage),
        args=trl_args(stage, **changes),
        train_dataset=train,
        eval_dataset=_eval_dataset(stage, _preferences(stage, stage.eval_rows), _on_disk),
        processing_class=stage.tokenizer,
        peft_config=peft_config(stage),
    )
    return _run(stage, trainer)


def _reference(stage: Stage):
    from transformers import AutoModelForCausalLM

    from notus.llm.models import resolve_model

    return AutoModelForCausalLM.from_pretrained(resolve_model(stage.recipe.ref_model_name_or_path))


def train_simpo(stage: Stage) -> dict[str, Any]:
    """SimPO is TRL's CPO trainer with `loss_type="simpo"` and no BC term (cpo_alpha=0)."""
    from datasets import Dataset
    from trl.experimental.cpo import CPOConfig, CPOTrainer

    recipe = stage.recipe
    args = trl_args(stage, CPOConfig, loss_type="simpo", cpo_alpha=0.0, simpo_gamma=recipe.simpo_gamma)
    trainer = CPOTrainer(
        model=load_model(stage),
        args=args,
        train_dataset=Dataset.from_list(_preferences(stage, stage.train_rows)),
        processing_class=stage.tokenizer,
        peft_config=peft_config(stage),
    )
    return _run(stage, trainer)


def _sft_tokens(stage: Stage, rows: list[dict]) -> list[dict]:
    recipe = stage.recipe
    items = tokenize_conversations(rows, stage.tokenizer, recipe.max_length, recipe.assistant_only_loss)
    return [{"input_ids": it.ids, "assistant_masks": [int(m) for m in it.labels_mask]} for it in items]


def train_sft_trl(stage: Stage) -> dict[str, Any]:
    from datasets import Dataset
    from trl import SFTTrainer

    # masks already say which tokens are trained: TRL folds them into labels for pre-tokenized rows
    args = trl_args(stage, assistant_only_loss=False)
    eval_rows = _sft_tokens(stage, stage.eval_rows) if stage.eval_rows else []
    trainer = SFTTrainer(
        model=load_model(stage),
        args=args,
        train_dataset=Dataset.from_list(_sft_tokens(stage, stage.train_rows)),
        eval_dataset=_eval_dataset(stage, eval_rows),
        processing_class=stage.tokenizer,
        peft_config=peft_config(stage),
    )
    return _run(stage, trainer)


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


def train_unpaired(recipe: Any, train_rows: list[dict] | None = None) -> dict[str, Any]:
    """`notus train kto|orpo`: TRL's KTO / ORPO trainer on the recipe's TRL config."""
    from datasets import Dataset

    stage = open_stage(recipe, train_rows, None)
    if recipe.method == "kto":
        from trl import KTOTrainer as Trainer

        rows = kto_rows(stage.train_rows)
    else:
        from trl.experimental.orpo import ORPOTrainer as Trainer

        rows = _preferences(stage, stage.train_rows)
    trainer = Trainer(
        model=load_model(stage),
        args=trl_args(stage),
        train_dataset=Dataset.from_list(rows),
        processing_class=stage.tokenizer,
        peft_config=peft_config(stage),
    )
    return _run(stage, trainer)
