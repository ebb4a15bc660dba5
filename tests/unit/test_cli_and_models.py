"""The CLI starts fast without torch; model references resolve; the embedded GGUF converts faithfully."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from notus.core.errors import ModelNotFoundError
from notus.llm.models import embedded_gguf_path, resolve_model


def test_help_does_not_import_torch():
    code = (
        "import sys; from notus.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    help_text = subprocess.run(
        [sys.executable, "-m", "notus", "--help"], capture_output=True, text=True
    ).stdout
    for group in ("run", "data", "feedback", "train", "eval", "serve"):
        assert group in help_text


def test_bad_recipe_names_every_problem_before_loading_a_model(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("strategys: [notus]\nseeds: forty-two\n")
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "notus", "run", str(recipe)], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "strategys: unknown key; did you mean 'strategies'?" in out.stderr
    assert "seeds: expected a list" in out.stderr or "seeds[0]: expected an integer" in out.stderr
    assert "Traceback" not in out.stderr
    recipe.write_text("data: /no/such/curate.yaml\n")
    out = subprocess.run([sys.executable, "-m", "notus", "run", str(recipe)], capture_output=True, text=True)
    elapsed = time.monotonic() - start
    assert out.returncode == 2 and "data: recipe file '/no/such/curate.yaml' does not exist" in out.stderr
    assert "Traceback" not in out.stderr
    assert elapsed < 20, f"a bad recipe should fail at once, took {elapsed:.1f}s"


def test_model_references(tmp_path, tiny_model_dir):
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)
    assert resolve_model("alignment-handbook/zephyr-7b-sft-full") == "alignment-handbook/zephyr-7b-sft-full"
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="not an embedded model"):
        resolve_model("smollm2-1.7b")


def test_embedded_conversion_matches_the_gguf(embedded_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf_path()
    assert resolve_model("smollm2-135m-instruct") == str(embedded_model_dir)
    config = json.loads((embedded_model_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert (embedded_model_dir / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>assistant\n")
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    converted = AutoModelForCausalLM.from_pretrained(embedded_model_dir)
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with torch.no_grad():
        assert torch.allclose(converted(ids).logits, direct(ids).logits, atol=1e-4)
