"""`notus export gguf MODEL -o FILE.gguf [--quant f16|q8_0|q4_k_m|q4_1]`: a model for llama.cpp, Ollama, LM Studio.

    notus export gguf runs/dpo -o dpo.q4_k_m.gguf --quant q4_k_m
    notus export gguf smollm2-135m-instruct -o smollm2.f16.gguf

MODEL is any reference notus loads (embedded name, model folder, `notus train` run folder, Hub id). A LoRA
run without merged weights (only `adapter/`) is merged into its base model first (peft's
`merge_and_unload`). The conversion is llama.cpp's own `convert_hf_to_gguf.py` with its `gguf` package
(weights, tokenizer and chat template), taken from the llama-cpp-python source release of the installed
version (see `converter_script`); quantization is llama.cpp's `llama_model_quantize` through
llama-cpp-python. notus writes no GGUF bytes itself.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from notus.core.errors import ModelNotFoundError, NotusError

# name -> llama.cpp's `enum llama_ftype` (None: the converter writes f16 itself)
QUANTS: dict[str, int | None] = {"f16": None, "q8_0": 7, "q4_k_m": 15, "q4_1": 3}
CONVERTER_FILES = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
SDIST_ENV = "NOTUS_LLAMA_CPP_SDIST"  # a llama-cpp-python .tar.gz to take the converter from (offline)
HUB_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "tokenizer.model", "*.txt"]  # never pickles


def converter_script() -> Path:
    """llama.cpp's `convert_hf_to_gguf.py` (with its `conversion/` and `gguf-py/`) for the installed
    llama-cpp-python: extracted once from that version's source release (`pip download`, or the file
    named by $NOTUS_LLAMA_CPP_SDIST) into the notus cache, so converter and runtime are one llama.cpp."""
    from notus.llm.models import cache_dir

    version = _llama_cpp().__version__
    root = cache_dir() / "llama.cpp-converter" / version
    script = root / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    root.parent.mkdir(parents=True, exist_ok=True)
    with (root.parent / f".{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.is_file():
            with tempfile.TemporaryDirectory() as tmp:
                _extract_converter(_sdist(version, Path(tmp)), root)
    return script


def _sdist(version: str, tmp: Path) -> Path:
    if os.environ.get(SDIST_ENV):
        return Path(os.environ[SDIST_ENV])
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
           "--no-binary", ":all:", f"llama-cpp-python=={version}", "-d", str(tmp)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(tmp.glob("llama_cpp_python-*.tar.gz"))
    if done.returncode or not found:
        raise NotusError(
            f"could not download the llama-cpp-python {version} source release, which holds llama.cpp's "
            f"GGUF converter ({done.stderr.strip().splitlines()[-1:] or 'no file'}); go online once, or set "
            f"{SDIST_ENV} to a downloaded llama_cpp_python-{version}.tar.gz"
        )
    return found[0]


def _extract_converter(sdist: Path, root: Path) -> None:
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(sdist) as tar:
            members = []
            for member in tar.getmembers():
                parts = member.name.split("/vendor/llama.cpp/", 1)
                if len(parts) == 2 and parts[1].startswith(CONVERTER_FILES):
                    member.name = parts[1]
                    members.append(member)
            tar.extractall(tmp, members=members, filter="data")  # no links out, no absolute paths
    except (tarfile.TarError, OSError) as exc:
        raise NotusError(f"{sdist}: not a readable llama-cpp-python source release ({exc})") from None
    if not (tmp / "convert_hf_to_gguf.py").is_file():
        raise NotusError(
            f"{sdist}: has no vendor/llama.cpp/convert_hf_to_gguf.py; use a llama-cpp-python sdist"
        )
    tmp.rename(root)


def _llama_cpp():
    try:
        import llama_cpp
    except ImportError:
        raise NotusError(
            "GGUF export needs llama-cpp-python: `pip install 'notus[llamacpp]'` (scripts/setup.sh does)"
        ) from None
    return llama_cpp


def model_folder(ref: str, work: Path) -> Path:
    """A local folder with config.json + safetensors + tokenizer for `ref`: the embedded model's cache, a
    model or run folder (a LoRA-only run merged into `work`), or a Hub snapshot (safetensors only)."""
    from notus.llm.models import check_model_folder, resolve_model

    path = Path(ref).expanduser()
    if (
        path.is_dir()
        and not (path / "config.json").is_file()
        and (path / "adapter" / "adapter_config.json").is_file()
    ):
        path = path / "adapter"  # a LoRA run saved without its merged model
    if path.is_dir() and (path / "adapter_config.json").is_file() and not (path / "config.json").is_file():
        check_model_folder(path)
        return _merge_adapter(path, work / "merged")
    folder = resolve_model(str(path) if path.exists() else ref)
    if Path(folder).is_dir():
        return Path(folder)
    from huggingface_hub import snapshot_download

    try:
        local = Path(snapshot_download(folder, allow_patterns=HUB_PATTERNS))
    except Exception as exc:  # offline, unknown repo, gated: one line
        raise ModelNotFoundError(
            f"model {ref!r} could not be downloaded ({type(exc).__name__}: {exc})"
        ) from None
    check_model_folder(local)
    return local


def _merge_adapter(adapter: Path, out: Path) -> Path:
    from peft import PeftModel

    from notus.llm.models import load_pretrained, read_config

    base = read_config(adapter / "adapter_config.json").get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise ModelNotFoundError(
            f"{adapter / 'adapter_config.json'}: no base_model_name_or_path to merge into"
        )
    tokenizer, model = load_pretrained(base)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.save_pretrained(out, safe_serialization=True)
    if (adapter / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    tokenizer.save_pretrained(out)
    return out


def convert(folder: Path, out: Path) -> None:
    """llama.cpp's converter: Hugging Face folder -> f16 GGUF with tokenizer and chat template."""
    cmd = [sys.executable, str(converter_script()), str(folder), "--outfile", str(out), "--outtype", "f16"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode or not out.is_file():
        tail = [line for line in done.stderr.splitlines() if line.strip()][-3:]
        raise NotusError(
            f"llama.cpp's converter could not convert {folder}: {' | '.join(tail)[-600:]} "
            "(its architecture may not be supported by this llama.cpp; upgrade llama-cpp-python)"
        )


def quantize(src: Path, dst: Path, quant: str, threads: int | None = None) -> None:
    """llama.cpp's quantizer (`llama_model_quantize`) from an f16 GGUF."""
    llama_cpp = _llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTS[quant]
    from notus.llm.llamacpp_backend import default_threads

    params.nthread = threads or default_threads()
    if llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)) != 0:
        raise NotusError(f"llama.cpp could not quantize {src} to {quant}")


def export_gguf(ref: str, out: Path, quant: str = "f16", check_tokens: int = 0) -> dict:
    """Write `out` (atomically): `ref` converted by llama.cpp, then quantized to `quant`. With
    `check_tokens`, also compare its greedy answers with the transformers model's (`notus.export.check`)."""
    from notus.core.runs import atomic_path

    if quant not in QUANTS:
        raise NotusError(f"--quant {quant!r} is not one of {', '.join(QUANTS)}")
    with tempfile.TemporaryDirectory(prefix="notus-export-") as tmp:
        work = Path(tmp)
        folder = model_folder(ref, work)
        with atomic_path(out) as target:
            if quant == "f16":
                convert(folder, target)
            else:
                convert(folder, work / "model.f16.gguf")
                quantize(work / "model.f16.gguf", target, quant)
        report = {"model": ref, "gguf": str(out), "quant": quant, "bytes": out.stat().st_size}
        if check_tokens:
            from notus.export.check import agreement

            report["check"] = agreement(folder, out, max_new_tokens=check_tokens)
    return report
