"""FSDP2 on CPU (gloo), the way PyTorch's own FSDP tests check it: shard a model with `fully_shard`, train
it next to an unsharded replica on the same global batch, then gather the full state dict exactly as
accelerate's `get_state_dict` does for FSDP2 and save it as the Trainer's `_save` does.

    torchrun --standalone --nproc_per_node 2 tests/integration/fsdp_gather.py MODEL OUT

Writes OUT/fsdp (the gathered, saved model), OUT/replica (the unsharded replica trained alongside) and
OUT/shards.json (each rank's local shard sizes, to prove the parameters were sharded). accelerate 1.15
cannot run FSDP on a CPU (see docs/train.md, "Distributed engines"), so this runs FSDP without it.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
from torch.distributed.fsdp import fully_shard
from transformers import AutoModelForCausalLM

STEPS, ROWS, LENGTH = 2, 4, 24


def main(model_dir: str, out: str) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    replica = copy.deepcopy(model)
    for layer in model.model.layers:  # accelerate's TRANSFORMER_BASED_WRAP: one unit per decoder layer
        fully_shard(layer)
    fully_shard(model)
    shards = {n: [p.to_local().numel(), p.numel()] for n, p in model.named_parameters()}
    batch = torch.randint(
        0, model.config.vocab_size, (ROWS, LENGTH), generator=torch.Generator().manual_seed(1)
    )
    mine = batch.chunk(world)[
        rank
    ]  # equal halves, no padding: the mean of the halves' means is the batch mean
    sharded_opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    replica_opt = torch.optim.AdamW(replica.parameters(), lr=1e-2)
    for _ in range(STEPS):
        model(input_ids=mine, labels=mine).loss.backward()  # FSDP reduce-scatters the mean gradient
        sharded_opt.step()
        sharded_opt.zero_grad()
        replica(input_ids=batch, labels=batch).loss.backward()
        replica_opt.step()
        replica_opt.zero_grad()
    options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True, cpu_offload=True)
    state = get_model_state_dict(model, options=options)  # collective: every rank calls it
    if rank == 0:
        root = Path(out)
        replica.save_pretrained(root / "replica", safe_serialization=True)
        unwrapped = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)  # as Trainer._save
        unwrapped.save_pretrained(root / "fsdp", state_dict=state, safe_serialization=True)
        (root / "shards.json").write_text(json.dumps({"world": world, "shards": shards}), encoding="utf-8")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
