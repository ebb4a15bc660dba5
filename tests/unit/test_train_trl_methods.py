"""KTO and ORPO are TRL's trainers wrapped (not reimplemented), on CPU with use_cpu=True; the run
folder has the same shape as the notus backend's (model, metrics.jsonl, model card)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

from notus.core.runs import read_jsonl
from notus.train.recipes import train_recipe
from notus.train.trl_backend import kto_rows, train_unpaired

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "train"


def test_kto_rows_split_pairs_and_keep_unpaired():
    pair = {"prompt": "q", "chosen": "good", "rejected": "bad"}
    rows = kto_rows([pair, {"prompt": "p", "completion": "c", "label": 0}])
    assert [r["label"] for r in rows] == [True, False, False]
    assert rows[0]["completion"] == [{"role": "assistant", "content": "good"}]


@pytest.mark.parametrize("method", ["kto", "orpo"])
def test_trl_methods_train_and_write_the_run_folder(tiny_model_dir, tmp_path, method):
    recipe = train_recipe(
        method,
        model_name_or_path=str(tiny_model_dir),
        backend="trl",
        output_dir=str(tmp_path / method),
        max_steps=1,
        per_device_train_batch_size=4,
        max_length=96,
        learning_rate=1e-4,
        disable_tqdm=True,
        logging_steps=1,
    )
    result = train_unpaired(recipe, read_jsonl(FIXTURES / "pairs.jsonl"))
    out = Path(result["output_dir"])
    assert result["global_step"] == 1 and result["metrics"][0]["loss"] > 0
    assert read_jsonl(out / "metrics.jsonl") == result["metrics"]
    assert f"- {method}" in (out / "README.md").read_text()
    AutoModelForCausalLM.from_pretrained(out)
