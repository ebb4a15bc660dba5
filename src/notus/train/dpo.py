"""DPO (and IPO, robust, hinge, SimPO-style, RPO) on preference pairs, lean on CPU.

    notus train dpo recipes/train/cpu/dpo.yaml
    torchrun --nproc_per_node 2 -m notus train dpo recipes/train/cpu/dpo.yaml    # data parallel (gloo)

Python API (what `notus run` calls):

    from notus.train.recipes import train_recipe
    from notus.train.dpo import train_dpo
    result = train_dpo(train_recipe("dpo", backend="notus", output_dir="runs/dpo", max_steps=10), train_rows=pairs)
    result["output_dir"], result["metrics"], result["train_runtime"]

Rows are TRL conversational preference dicts (`prompt`, `chosen`, `rejected` message lists; plain
strings are accepted too). The reference log-probs are computed once (cached on disk), then each step
runs every pair as one row [prompt | chosen | rejected] through the policy (see `logps.py`).
"""

from __future__ import annotations

from typing import Any

import torch

from notus.train.data import curation_sidecars, curation_summary, tokenize_pairs
from notus.train.logps import pack_pairs, sequence_logps
from notus.train.loop import flops_per_token, load_model, micro_batches, train_loop
from notus.train.losses import PairLogps, dpo_loss
from notus.train.recipes import TrainRecipe, build_train_recipe, load_train_recipe
from notus.train.reference import cached_reference, compute_reference
from notus.train.stage import finish_stage, open_stage

__all__ = ["train_dpo"]


def sft_stage(recipe: TrainRecipe) -> TrainRecipe | None:
    """SFT-then-DPO: the `sft` key holds an SFT recipe (a mapping or a file)."""
    if recipe.sft is None:
        return None
    if isinstance(recipe.sft, str):
        return load_train_recipe("sft", recipe.sft)
    return build_train_recipe("sft", recipe.sft, "sft (inside the DPO recipe)")


def train_dpo(
    recipe: TrainRecipe, train_rows: list[dict] | None = None, eval_rows: list[dict] | None = None
) -> dict[str, Any]:
    """Train, save safetensors + tokenizer + model card into `recipe.output_dir`, return metrics."""
    start_model = None
    sft = sft_stage(recipe)
    if sft is not None:  # SFT then DPO: the DPO stage starts from the SFT stage's model
        from notus.train.sft import train_sft

        start_model = train_sft(sft)["output_dir"]
    stage = open_stage(recipe, train_rows, eval_rows, start_model)
    if recipe.backend == "trl":
        from notus.train.trl_backend import train_dpo_trl

        return train_dpo_trl(stage)
    runtime, tokenizer = stage.runtime, stage.tokenizer
    loss_type = recipe.loss_type[0]
    pairs = tokenize_pairs(stage.train_rows, tokenizer, recipe.max_length, recipe.max_prompt_length)
    model = load_model(recipe, stage.model_path, runtime)
    ref_path = recipe.ref_model_name_or_path or stage.model_path

    def load_reference() -> torch.nn.Module:
        if recipe.ref_model_name_or_path is None:
            return model  # the initial policy is the reference: no second copy in memory
        from transformers import AutoModelForCausalLM

        from notus.llm.models import resolve_model

        path = resolve_model(recipe.ref_model_name_or_path)
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(runtime.device)

    def reference(items: list) -> tuple[torch.Tensor, bool, Any]:
        if loss_type == "simpo":  # reference-free
            return torch.zeros(len(items), 2), False, None
        return cached_reference(
            load_reference,
            ref_path,
            items,
            tokenizer.chat_template,
            recipe.max_length,
            recipe.max_prompt_length,
            recipe.micro_batch_tokens,
            recipe.ref_cache_dir,
            runtime.rank,
            runtime.world,
        )

    ref, hit, cache_file = reference(pairs)
    eval_pairs = tokenize_pairs(stage.eval_rows, tokenizer, recipe.max_length, recipe.max_prompt_length)
    eval_ref = reference(eval_pairs)[0] if eval_pairs else None
    lengths = [p.n_tokens for p in pairs]
    per_token, per_scored = flops_per_token(model)

    def step_fn(mine: list[int], batch: list[int]) -> dict[str, float]:
        sums = dict.fromkeys(["loss", "rewards/chosen", "rewards/rejected", "rewards/margins"], 0.0)
        sums.update({"rewards/accuracies": 0.0, "logps/chosen": 0.0, "logps/rejected": 0.0, "tokens": 0.0})
        for group in micro_batches(mine, lengths, recipe.micro_batch_tokens):
            packed = pack_pairs([pairs[i] for i in group])
            logps, counts = sequence_logps(model, packed)
            r = ref[group].to(logps.device)
            lp = PairLogps(logps[0::2], logps[1::2], r[:, 0], r[:, 1], counts[0::2], counts[1::2])
            loss, chosen, rejected = dpo_loss(
                lp,
                loss_type,
                recipe.beta,
                recipe.label_smoothing,
                recipe.rpo_alpha,
                recipe.simpo_gamma,
            )
            (loss.sum() / len(batch)).backward()
            sums["loss"] += float(loss.detach().sum())
            sums["rewards/chosen"] += float(chosen.sum())
            sums["rewards/rejected"] += float(rejected.sum())
            sums["rewards/margins"] += float((chosen - rejected).sum())
            sums["rewards/accuracies"] += float((chosen > rejected).float().sum())
            sums["logps/chosen"] += float(lp.chosen.detach().sum())
            sums["logps/rejected"] += float(lp.rejected.detach().sum())
            sums["tokens"] += packed.n_tokens
        sums["n"] = float(len(mine))
        return sums

    def flops_fn(batch: list[int]) -> float:
        tokens = sum(lengths[i] for i in batch)
        scored = sum(len(pairs[i].chosen) + len(pairs[i].rejected) for i in batch)
        return per_token * tokens + per_scored * scored

    config = {"method": "dpo", "pairs": len(pairs), "reference_cache_hit": hit}
    result = train_loop(recipe, model, lengths, step_fn, flops_fn, stage.out, runtime, config)
    result.update(
        {
            "reference_cache_hit": hit,
            "reference_cache": str(cache_file) if cache_file else None,
            "train_pairs": len(pairs),
            "train_tokens_per_epoch": sum(lengths),
        }
    )
    if eval_pairs:
        result["eval_metrics"] = evaluate(recipe, model, eval_pairs, eval_ref, runtime)
    summary = {"train_pairs": len(pairs), "eval_pairs": len(eval_pairs), "method": loss_type}
    summary["curation"] = curation_summary(stage.train_rows)
    sidecars = curation_sidecars(recipe.dataset_mixture)
    if sidecars:
        summary["curation_reports"] = sidecars
    return finish_stage(stage, model, result, summary)


def evaluate(recipe: TrainRecipe, model: torch.nn.Module, pairs: list, ref: torch.Tensor, runtime) -> dict:
    """Held-out loss, implicit rewards and preference accuracy of the trained policy."""
    policy = compute_reference(model, pairs, recipe.micro_batch_tokens, runtime.rank, runtime.world)
    counts = torch.tensor([[len(p.chosen), len(p.rejected)] for p in pairs], dtype=torch.float32)
    lp = PairLogps(policy[:, 0], policy[:, 1], ref[:, 0], ref[:, 1], counts[:, 0], counts[:, 1])
    loss, chosen, rejected = dpo_loss(
        lp, recipe.loss_type[0], recipe.beta, recipe.label_smoothing, recipe.rpo_alpha, recipe.simpo_gamma
    )
    return {
        "eval/loss": float(loss.mean()),
        "eval/rewards/chosen": float(chosen.mean()),
        "eval/rewards/rejected": float(rejected.mean()),
        "eval/rewards/margins": float((chosen - rejected).mean()),
        "eval/rewards/accuracies": float((chosen > rejected).float().mean()),
        "eval/pairs": len(pairs),
    }
