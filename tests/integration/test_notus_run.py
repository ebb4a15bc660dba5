"""`notus run` end to end on the embedded model with a reduced recipe: both binarizations, two real
(short) TRL DPO runs, evaluation, and a run folder whose models reload with plain transformers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from notus.core.runs import read_jsonl


@pytest.mark.slow
def test_notus_run_reduced_recipe(tmp_path, embedded_model_dir):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "notus",
        "run",
        "recipes/notus_experiment.yaml",
        "max_rows=16",
        "dpo.max_steps=2",
        "dpo.per_device_train_batch_size=2",
        "dpo.max_length=128",
        "dpo.learning_rate=1e-4",
        "eval_prompts=[Name a primary colour.]",
        "eval_max_new_tokens=8",
        f"output_dir={out}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report:" in result.stdout and "chosen response differs" in result.stdout

    stats = json.loads((out / "dataset_stats.json").read_text())
    assert stats["rows"] == 16 and stats["train_rows"] + stats["test_rows"] == 16
    for strategy in ("zephyr", "notus"):
        st = stats[strategy]
        assert st["train"]["rows_in"] == stats["train_rows"]
        kept = st["train"]["pairs_out"] + sum(st["train"]["dropped"].values())
        assert kept == stats["train_rows"], "every row is either a pair or counted as dropped"
        steps = [r for r in read_jsonl(out / "metrics" / f"dpo_{strategy}.jsonl") if "loss" in r]
        assert [r["step"] for r in steps] == [1, 2]
    assert 0 < stats["chosen_differs"]["chosen_differs"] < stats["chosen_differs"]["rows_both_kept"]

    evaluation = json.loads((out / "eval.json").read_text())
    assert set(evaluation["preference"]) == {"base", "zephyr", "notus"}
    for by_test in evaluation["preference"].values():
        assert set(by_test) == {"zephyr", "notus"}
    assert evaluation["preference"]["base"]["notus"]["reward_accuracy"] == 0.0  # reference vs itself

    report = (out / "report.md").read_text()
    assert "zephyr" in report and "notus" in report and "chosen response differs" in report
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html

    # the trained model reloads with plain transformers, generates, and its weights moved
    model_dir = out / "models" / "notus"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    generated = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] > ids["input_ids"].shape[1]
    trained, base = (
        load_file(model_dir / "model.safetensors"),
        load_file(embedded_model_dir / "model.safetensors"),
    )
    changed = [k for k in base if k in trained and not torch.equal(base[k], trained[k])]
    assert len(changed) > 0.9 * len(base)
