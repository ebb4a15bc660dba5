"""Data parallel on CPU: `torchrun --nproc_per_node 2` (gloo) completes, and its loss curve matches a
1-process run that sees the same global batches (2 per device x 2 processes = 2 x 2 accumulation)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from notus.core.runs import read_jsonl
from notus.train.dpo import train_dpo
from notus.train.recipes import load_train_recipe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "train"


def recipe(path: Path, model: Path, out: Path, accumulation: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": str(model),
                "backend": "notus",
                "dataset_mixture": {"datasets": [{"id": str(FIXTURES / "pairs.jsonl")}]},
                "output_dir": str(out),
                "max_steps": 4,
                "per_device_train_batch_size": 2,
                "gradient_accumulation_steps": accumulation,
                "micro_batch_tokens": 64,  # one pair per micro-batch: accumulation inside each process too
                "max_length": 96,
                "learning_rate": 1e-3,
                "torch_threads": 1,
                "ref_cache_dir": str(out.parent / f"cache-{out.name}"),
                "disable_tqdm": True,
                "logging_steps": 1,
            }
        )
    )
    return path


def test_two_processes_match_one_process(tiny_model_dir, tmp_path):
    one = recipe(tmp_path / "one.yaml", tiny_model_dir, tmp_path / "one", accumulation=2)
    two = recipe(tmp_path / "two.yaml", tiny_model_dir, tmp_path / "two", accumulation=1)
    train = ["-m", "notus", "train", "dpo"]
    train_dpo(load_train_recipe("dpo", one))  # 1 process, in this one
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    done = subprocess.run([*launch, *train, str(two)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = read_jsonl(tmp_path / "one" / "metrics.jsonl"), read_jsonl(tmp_path / "two" / "metrics.jsonl")
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    for ra, rb in zip(a, b):
        assert abs(ra["loss"] - rb["loss"]) < 1e-4, (ra, rb)
        assert abs(ra["rewards/margins"] - rb["rewards/margins"]) < 1e-4
    assert a[-1]["loss"] != a[0]["loss"], "the curve moved"
    assert (tmp_path / "two" / "model.safetensors").exists()
