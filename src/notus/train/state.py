"""Training state on disk without pickle: tensors in safetensors, everything else in JSON.

    save_state({"step": 3, "optimizer": opt.state_dict(), "rng": torch.get_rng_state()}, folder / "state")
    state = load_state(folder / "state")      # reads state.safetensors + state.json, never runs code

Checkpoints and the reference log-prob cache both go through here: a crafted file can hold wrong numbers,
but it cannot execute anything when loaded (unlike `torch.load(..., weights_only=False)`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from notus.core.errors import NotusError


def _flatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = value.detach().cpu().contiguous()
        return {"tensor": key}
    if isinstance(value, dict):
        return {"dict": [[_flatten(k, tensors), _flatten(v, tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_flatten(v, tensors) for v in value]}
    if isinstance(value, list):
        return [_flatten(v, tensors) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a training state")


def _unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_unflatten(v, tensors) for v in value]
    if isinstance(value, dict):
        if set(value) == {"tensor"}:
            return tensors[value["tensor"]]
        if set(value) == {"tuple"}:
            return tuple(_unflatten(v, tensors) for v in value["tuple"])
        if set(value) == {"dict"}:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in value["dict"]}
        raise ValueError(f"unexpected entry {sorted(value)}")
    return value


def save_state(state: Any, stem: Path) -> None:
    """`stem.safetensors` + `stem.json`, each written to a temporary name and renamed into place."""
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, tensors)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp_tensors = stem.with_name(stem.name + ".safetensors.tmp")
    tmp_json = stem.with_name(stem.name + ".json.tmp")
    save_file(tensors, str(tmp_tensors))
    tmp_json.write_text(json.dumps(tree), encoding="utf-8")
    os.replace(tmp_tensors, stem.with_name(stem.name + ".safetensors"))
    os.replace(tmp_json, stem.with_name(stem.name + ".json"))


def load_state(stem: Path) -> Any:
    """Inverse of `save_state`; a damaged or foreign file raises NotusError naming it."""
    tensors_path = stem.with_name(stem.name + ".safetensors")
    json_path = stem.with_name(stem.name + ".json")
    try:
        tensors = load_file(str(tensors_path))
        return _unflatten(json.loads(json_path.read_text(encoding="utf-8")), tensors)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise NotusError(
            f"{json_path.parent}: training state {stem.name} cannot be read ({type(exc).__name__}: "
            f"{str(exc)[:120]}); delete that folder to start from the previous checkpoint"
        ) from None
    except Exception as exc:  # safetensors raises its own SafetensorError for a corrupt header
        raise NotusError(
            f"{tensors_path}: training state cannot be read, not a valid safetensors file "
            f"({str(exc)[:120]}); delete {stem.parent} to start from the previous checkpoint"
        ) from None
