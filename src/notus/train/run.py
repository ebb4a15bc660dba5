"""One entry point for every training method and backend: what `notus train METHOD` and `notus run` call.

from notus.train.recipes import load_train_recipe
from notus.train.run import train
result = train(load_train_recipe("dpo", "recipes/train/cpu/dpo.yaml", ["max_steps=2"]))
"""

from __future__ import annotations

import atexit
from functools import cache
from typing import Any

from notus.train.recipes import TrainRecipe


def train(
    recipe: TrainRecipe, train_rows: list[dict] | None = None, eval_rows: list[dict] | None = None
) -> dict[str, Any]:
    """Run `recipe` (its method and backend); rows given here replace the recipe's datasets."""
    _close_process_group_at_exit()
    if recipe.method == "sft":
        from notus.train.sft import train_sft

        return train_sft(recipe, train_rows, eval_rows)
    if recipe.method == "dpo":
        from notus.train.dpo import train_dpo

        return train_dpo(recipe, train_rows, eval_rows)
    from notus.train.trl_backend import train_unpaired

    return train_unpaired(recipe, train_rows)


@cache
def _close_process_group_at_exit() -> None:
    """Under a launcher, destroy the process group before the interpreter exits, as torch asks: left open,
    a ZeRO-3 offload run on CPU once aborted at exit ("terminate called without an active exception",
    SIGABRT) after saving everything, and the launcher reported the run failed (intermittent)."""

    def close() -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()

    atexit.register(close)
