"""Reference log-probs for DPO, computed once and cached on disk.

The cache key is a hash of (reference model identity, tokenized data, chat template, max_length,
max_prompt_length): a second run on the same data skips the reference pass entirely, and no second
model stays in memory during training (the reference is the initial policy unless
`ref_model_name_or_path` names another model, which is loaded, used and freed before training).

    $NOTUS_CACHE/ref_logps/<sha256>.safetensors + .json   {"logps": float32 [pairs, 2], "key": {...}}

The cache is read with safetensors + JSON (`notus.train.state`), so a file planted in a shared cache
folder can at worst hold wrong numbers (its key must still match), never run code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from notus.core.errors import NotusError
from notus.llm.models import cache_dir
from notus.train.data import PairTokens, tokens_hash
from notus.train.logps import pack_pairs, sequence_logps
from notus.train.state import load_state, save_state


def model_identity(path: str) -> dict[str, Any]:
    """A Hub id as is; a local folder by its weight files' names, sizes and modification times."""
    folder = Path(path)
    if not folder.is_dir():
        return {"hub_id": path}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".json"))
    return {
        "folder": str(folder.resolve()),
        "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files],
    }


def cache_key(ref_path: str, pairs: list[PairTokens], template: str, max_length: int, max_prompt: int | None):
    key = {
        "reference": model_identity(ref_path),
        "data": tokens_hash(pairs),
        "template": hashlib.sha256(template.encode()).hexdigest(),
        "max_length": max_length,
        "max_prompt_length": max_prompt,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return digest, key


def compute_reference(
    model: torch.nn.Module, pairs: list[PairTokens], budget: int, rank: int = 0, world: int = 1
) -> torch.Tensor:
    """[pairs, 2] summed log-probs of (chosen, rejected); each process does every world-th pair."""
    out = torch.zeros(len(pairs), 2, dtype=torch.float32)
    mine = list(range(rank, len(pairs), world))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        start = 0
        while start < len(mine):
            group, used = [], 0
            while start < len(mine) and (not group or used + pairs[mine[start]].n_tokens <= budget):
                group.append(mine[start])
                used += pairs[mine[start]].n_tokens
                start += 1
            sums, _ = sequence_logps(model, pack_pairs([pairs[i] for i in group]))
            out[group] = sums.view(-1, 2).cpu()
    model.train(was_training)
    if world > 1:
        torch.distributed.all_reduce(out)
    return out


def cached_reference(
    load_reference: Any,
    ref_path: str,
    pairs: list[PairTokens],
    template: str,
    max_length: int,
    max_prompt: int | None,
    budget: int,
    cache_root: str | None = None,
    rank: int = 0,
    world: int = 1,
) -> tuple[torch.Tensor, bool, Path]:
    """(logps, hit, path): read the cache, or compute with `load_reference()` and write it (rank 0)."""
    digest, key = cache_key(ref_path, pairs, template, max_length, max_prompt)
    root = (Path(cache_root).expanduser() if cache_root else cache_dir() / "ref_logps") / digest
    try:
        saved = load_state(root) if root.with_name(digest + ".json").is_file() else {}
    except NotusError:
        saved = {}  # damaged entry: computed again and replaced
    logps = saved.get("logps") if isinstance(saved, dict) else None
    hit = (
        isinstance(saved, dict)
        and saved.get("key") == json.loads(json.dumps(key))
        and isinstance(logps, torch.Tensor)
        and tuple(logps.shape) == (len(pairs), 2)
    )
    if world > 1:  # every process must take the same branch (the miss branch all-reduces)
        flag = torch.tensor([int(hit)])
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
        hit = bool(flag.item())
    if hit:
        return saved["logps"], True, root
    model = load_reference()
    logps = compute_reference(model, pairs, budget, rank, world)
    if rank == 0:
        save_state({"logps": logps, "key": key}, root)
    return logps, False, root
