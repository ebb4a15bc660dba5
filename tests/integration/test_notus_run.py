"""`notus run` end to end on the embedded model with a reduced recipe: both binarizations through
`notus data curate`, short DPO runs over two seeds through `notus train dpo`, held-out evaluation, the
statistics, and a run folder (log, summary, report) whose models reload with plain transformers."""

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
    cmd = [sys.executable, "-m", "notus", "run", "recipes/notus_experiment.yaml", "seeds=[1, 2]",
           "train.max_steps=2", "train.per_device_train_batch_size=2", "train.max_length=128",
           "train.learning_rate=1e-4", "eval.max_pairs=6", f"output_dir={out}", "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # --json: stdout is the summary alone
    assert summary == json.loads((out / "summary.json").read_text())
    assert "\r" not in (out / "run.log").read_text()  # no progress bars off a terminal
    assert "notus data curate" in (out / "run.log").read_text()

    for strategy in ("zephyr", "notus"):
        d = summary["data"][strategy]
        assert d["splits"]["train"] + d["splits"]["test"] == d["ledger"]["rows_out"]
        test_prompts = {
            r["prompt"][0]["content"] for r in read_jsonl(out / "data" / f"{strategy}_test.jsonl")
        }
        train_prompts = {
            r["prompt"][0]["content"] for r in read_jsonl(out / "data" / f"{strategy}_train.jsonl")
        }
        assert test_prompts and not test_prompts & train_prompts
        for seed in ("1", "2"):
            steps = [
                r
                for r in read_jsonl(out / "models" / f"{strategy}-seed{seed}" / "metrics.jsonl")
                if "loss" in r
            ]
            assert [r["step"] for r in steps] == [1, 2]
    assert summary["data"]["chosen_differs"]["different_chosen"] == 34

    for t in summary["preference"]["tests"].values():
        assert t["n"] == 6 and set(t["models"]) == {"base", "zephyr", "notus"}
        assert t["models"]["base"]["reward_accuracy"]["mean"] == 0.0  # the reference against itself
        assert len(t["models"]["notus"]["reward_accuracy"]["per_seed"]) == 2
        low, high = t["models"]["notus"]["reward_accuracy"]["wilson_of_mean"]
        assert 0 <= low < high <= 1
        assert t["paired"]["reward_accuracy"]["items"] == 6

    report = (out / "report.md").read_text()
    assert report.index("## Conclusion") < report.index("## Caveats") < report.index("## Data")
    assert "synthetic sample" in report and "Wilson" in report
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    assert "<table>" in html and "`" not in html.split("<body>")[1].split("<img")[0]

    model_dir = out / "models" / "notus-seed1"
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
