"""End to end on the real embedded model: `notus train dpo` and `notus train sft` on the CPU recipes
(shortened by overrides), then the trained folder reloads with plain transformers and generates; every
parameter changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("method", ["dpo", "sft"])
def test_notus_train_cpu_recipe_end_to_end(embedded_model_dir, shared_data, tmp_path, method):
    out = tmp_path / method
    data = shared_data / "ultrafeedback" / "binarized_overall_score_train_1000.jsonl"
    overrides = [
        f"output_dir={out}",
        "max_steps=1",
        "per_device_train_batch_size=2",
        "max_length=160",
        "learning_rate=1e-5",
        f"dataset_mixture.datasets=[{{id: {data}, weight: 0.01}}]",
    ]
    if method == "dpo":
        overrides += ["max_prompt_length=96", f"ref_cache_dir={tmp_path / 'cache'}"]
    recipe = f"recipes/train/cpu/{method}.yaml"
    cmd = [sys.executable, "-m", "notus", "train", method, recipe, *overrides]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "model card" in done.stdout
    before = load_file(embedded_model_dir / "model.safetensors")
    after = load_file(out / "model.safetensors")
    assert [n for n in before if torch.equal(before[n], after[n])] == []
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Name a primary color."}],
        add_generation_prompt=True,
        return_tensors="pt",
    )
    ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    text = tokenizer.decode(model.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1] :])
    assert text.strip()
