"""SFT on conversations: the tokenizer's chat template, loss on assistant tokens only, packing.

    notus train sft recipes/train/cpu/sft.yaml
    torchrun --nproc_per_node 2 -m notus train sft recipes/train/cpu/sft.yaml

Python API:

    from notus.train.recipes import train_recipe
    from notus.train.sft import train_sft
    result = train_sft(train_recipe("sft", backend="notus", output_dir="runs/sft", max_steps=10), train_rows=rows)

Rows hold `messages` (or `prompt` + `completion`, or a preference row's `chosen` side). With
`packing: true` several conversations share one row of at most `max_length` tokens, each attending
only to itself (a block-diagonal mask, positions restarting per conversation): no padding, no
cross-contamination. The loss is the mean NLL over all assistant tokens of the global batch.
"""

from __future__ import annotations

from typing import Any

from notus.train.data import SFTTokens, tokenize_conversations
from notus.train.logps import Packed, pack, sequence_logps
from notus.train.loop import flops_per_token, load_model, micro_batches, train_loop
from notus.train.recipes import TrainRecipe
from notus.train.stage import finish_stage, open_stage

__all__ = ["train_sft"]


def pack_conversations(items: list[SFTTokens], width: int, packing: bool) -> Packed:
    """First-fit conversations into rows of at most `width` tokens (one per row without packing)."""
    rows: list[list[tuple]] = []
    used: list[int] = []
    for i, item in enumerate(items):
        segment = (item.ids, -1, item.labels_mask, i)
        slot = next((r for r, u in enumerate(used) if packing and u + len(item.ids) <= width), None)
        if slot is None:
            rows.append([segment])
            used.append(len(item.ids))
        else:
            rows[slot].append(segment)
            used[slot] += len(item.ids)
    return pack(rows, len(items))


def train_sft(
    recipe: TrainRecipe, train_rows: list[dict] | None = None, eval_rows: list[dict] | None = None
) -> dict[str, Any]:
    """Train, save safetensors + tokenizer + model card into `recipe.output_dir`, return metrics."""
    stage = open_stage(recipe, train_rows, eval_rows)
    if recipe.backend == "trl":
        from notus.train.trl_backend import train_sft_trl

        return train_sft_trl(stage)
    runtime = stage.runtime
    items = tokenize_conversations(
        stage.train_rows, stage.tokenizer, recipe.max_length, recipe.assistant_only_loss
    )
    model = load_model(recipe, stage.model_path, runtime)
    lengths = [len(item.ids) for item in items]
    scored = [max(sum(item.labels_mask[1:]), 0) for item in items]
    per_token, per_scored = flops_per_token(model)
    budget = max(recipe.micro_batch_tokens, recipe.max_length)

    def step_fn(mine: list[int], batch: list[int]) -> dict[str, float]:
        total = max(sum(scored[i] for i in batch), 1)
        sums = {"loss": 0.0, "tokens": 0.0, "n": len(mine) / len(batch)}
        for group in micro_batches(mine, lengths, budget):
            packed = pack_conversations([items[i] for i in group], recipe.max_length, recipe.packing)
            logps, _ = sequence_logps(model, packed)
            loss = -logps.sum() / total
            loss.backward()
            sums["loss"] += float(loss.detach())
            sums["tokens"] += packed.n_tokens
        return sums

    def flops_fn(batch: list[int]) -> float:
        return per_token * sum(lengths[i] for i in batch) + per_scored * sum(scored[i] for i in batch)

    config = {"method": "sft", "conversations": len(items)}
    result = train_loop(recipe, model, lengths, step_fn, flops_fn, stage.out, runtime, config)
    result.update({"train_conversations": len(items), "train_tokens_per_epoch": sum(lengths)})
    summary = {"train_conversations": len(items), "eval_conversations": len(stage.eval_rows)}
    return finish_stage(stage, model, result, summary)
