"""kill -9 during training, run the same command again: it resumes from the last checkpoint, and the
final weights and per-step metrics equal an uninterrupted run's (CPU float tolerance)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file

from notus.core.runs import read_jsonl
from notus.train.dpo import train_dpo
from notus.train.recipes import load_train_recipe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "train"
STEPS = 24


def write_recipe(path: Path, model: Path, out: Path, cache: Path) -> Path:
    recipe = {
        "model_name_or_path": str(model),
        "backend": "notus",
        "dataset_mixture": {"datasets": [{"id": str(FIXTURES / "pairs.jsonl")}]},
        "output_dir": str(out),
        "max_steps": STEPS,
        "per_device_train_batch_size": 2,
        "max_length": 96,
        "learning_rate": 1e-3,
        "save_steps": 3,
        "logging_steps": 1,
        "torch_threads": 1,
        "ref_cache_dir": str(cache),
        "disable_tqdm": True,
    }
    path.write_text(yaml.safe_dump(recipe))
    return path


def command(recipe: Path) -> list[str]:
    return [sys.executable, "-m", "notus", "train", "dpo", str(recipe)]


def test_kill_9_then_resume_equals_uninterrupted(tiny_model_dir, tmp_path):
    cache = tmp_path / "cache"
    whole = write_recipe(tmp_path / "whole.yaml", tiny_model_dir, tmp_path / "whole", cache)
    train_dpo(load_train_recipe("dpo", whole))  # the uninterrupted run, in this process

    killed = write_recipe(tmp_path / "killed.yaml", tiny_model_dir, tmp_path / "killed", cache)
    proc = subprocess.Popen(command(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if any(p.name == "step-0000006" for p in checkpoints.glob("step-*")):
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "model.safetensors").exists(), "killed before the end"
    steps_before = [r["step"] for r in read_jsonl(tmp_path / "killed" / "metrics.jsonl")]
    assert steps_before and steps_before[-1] < STEPS

    done = subprocess.run(command(killed), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    a = read_jsonl(tmp_path / "whole" / "metrics.jsonl")
    b = read_jsonl(tmp_path / "killed" / "metrics.jsonl")
    assert [r["step"] for r in b] == list(range(1, STEPS + 1)), "no duplicated or missing step"
    for ra, rb in zip(a, b):
        for key in ("loss", "rewards/margins", "rewards/accuracies", "grad_norm", "learning_rate"):
            assert abs(ra[key] - rb[key]) <= 1e-5 * max(1.0, abs(ra[key])), (ra["step"], key)
    wa = load_file(tmp_path / "whole" / "model.safetensors")
    wb = load_file(tmp_path / "killed" / "model.safetensors")
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], rtol=1e-5, atol=1e-6)
