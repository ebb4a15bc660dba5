"""The distributed engines of `backend: trl`, run for real in 2 CPU processes (gloo):

- DDP and DeepSpeed ZeRO-2 / ZeRO-3 / ZeRO-3 with optimizer + parameter offload, each launched with
  `accelerate launch --config_file recipes/accelerate/cpu/<engine>.yaml -m notus train dpo RECIPE`: the
  engine accelerate really ran (train_results.json) is the one asked for, the per-step losses equal
  DDP's, and the saved safetensors reload with plain transformers to DDP's weights (which moved away
  from the initial ones), so an empty, partial or untrained save fails;
- FSDP: accelerate 1.15 cannot shard on a CPU (docs/train.md), so FSDP2 runs under torchrun next to an
  unsharded replica and its gathered full state dict, saved and reloaded, must equal the replica's;
- kill -9 of a trl-backend run after its first checkpoints; the same command resumes from the last
  complete checkpoint and ends with every step and a loadable model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM

from notus.core.runs import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "recipes" / "accelerate" / "cpu"
PAIRS = ROOT / "tests" / "fixtures" / "train" / "pairs.jsonl"
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch"]
TRAIN = ["-m", "notus", "train", "dpo"]


def write_recipe(tmp: Path, model: Path, name: str, **keys) -> Path:
    recipe = {
        "model_name_or_path": str(model),
        "dataset_mixture": {"datasets": [{"id": str(PAIRS)}]},
        "output_dir": str(tmp / name),
        "max_steps": 2,
        "per_device_train_batch_size": 2,
        "max_length": 96,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "disable_tqdm": True,
        "report_to": [],
        **keys,
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def environment() -> dict[str, str]:
    env = dict(os.environ, DS_ACCELERATOR="cpu", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def launch(config: str, recipe: Path) -> dict:
    """`accelerate launch --config_file recipes/accelerate/cpu/CONFIG -m notus train dpo RECIPE`, from the
    project root; returns the run's train_results.json."""
    command = [*LAUNCH, "--config_file", str(CONFIGS / config), *TRAIN, str(recipe)]
    done = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    out = Path(yaml.safe_load(recipe.read_text())["output_dir"])
    return json.loads((out / "train_results.json").read_text())


def logged(out: Path) -> list[dict]:
    """The per-step rows of metrics.jsonl (the last row is the run's summary, with train_loss)."""
    return [row for row in read_jsonl(out / "metrics.jsonl") if "loss" in row]


def weights(path: Path) -> dict[str, torch.Tensor]:
    """The saved model reloaded with plain transformers (tied weights resolved as transformers does)."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_trained_weights(saved: dict, reference: dict, initial: dict, atol: float = 1e-5) -> None:
    assert saved.keys() == reference.keys()
    for name, tensor in reference.items():
        assert saved[name].shape == tensor.shape, name
        torch.testing.assert_close(saved[name], tensor, rtol=1e-4, atol=atol, msg=name)
    moved = max((reference[n] - initial[n]).abs().max().item() for n in reference)
    assert moved > 100 * atol, "training moved the weights far more than the tolerance"


@pytest.fixture(scope="module")
def ddp_run(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("engines")
    result = launch("ddp.yaml", write_recipe(tmp, tiny_model_dir, "ddp"))
    return tmp / "ddp", result


def test_ddp_two_processes(ddp_run, tiny_model_dir):
    out, result = ddp_run
    assert result["engine"] == {"distributed_type": "MULTI_CPU", "world_size": 2}
    assert result["global_step"] == 2
    assert [m["step"] for m in logged(out)] == [1, 2]
    card = (out / "README.md").read_text()
    assert "| world_size | 2 |" in card and "| global_batch_size | 4 |" in card
    saved, initial = weights(out), weights(tiny_model_dir)
    assert max((saved[n] - initial[n]).abs().max().item() for n in saved) > 1e-4


@pytest.mark.parametrize(
    ("config", "stage", "offload", "keys"),
    [
        ("zero2.yaml", 2, "none", {}),
        # the reference log-probs computed up front, by TRL's DeepSpeed inference engine over the shards
        ("zero3.yaml", 3, "none", {"precompute_ref_log_probs": True}),
        ("zero3_offload.yaml", 3, "cpu", {}),
    ],
)
def test_deepspeed_saves_full_weights(config, stage, offload, keys, ddp_run, tiny_model_dir, tmp_path):
    ddp_out, _ = ddp_run
    name = config.removesuffix(".yaml")
    result = launch(config, write_recipe(tmp_path, tiny_model_dir, name, **keys))
    assert result["engine"] == {
        "distributed_type": "DEEPSPEED",
        "world_size": 2,
        "zero_stage": stage,
        "offload_optimizer": offload,
        "offload_param": offload,
    }
    losses = [m["loss"] for m in logged(tmp_path / name)]
    reference = [m["loss"] for m in logged(ddp_out)]
    assert losses == pytest.approx(reference, abs=1e-5)
    assert_same_trained_weights(weights(tmp_path / name), weights(ddp_out), weights(tiny_model_dir))


def test_zero3_without_16bit_gather_still_saves_full_weights(ddp_run, tiny_model_dir, tmp_path):
    """`zero3_save_16bit_model: false` (DeepSpeed's stage3_gather_16bit_weights_on_model_save): the Trainer
    writes only a sharded DeepSpeed checkpoint; notus consolidates it (zero_to_fp32) into full safetensors."""
    ddp_out, _ = ddp_run
    launcher = yaml.safe_load((CONFIGS / "zero3.yaml").read_text())
    launcher["deepspeed_config"]["zero3_save_16bit_model"] = False
    (tmp_path / "zero3.yaml").write_text(yaml.safe_dump(launcher))
    result = launch(str(tmp_path / "zero3.yaml"), write_recipe(tmp_path, tiny_model_dir, "nogather"))
    assert result["engine"]["zero_stage"] == 3
    out = tmp_path / "nogather"
    assert not (out / "latest").exists() and not list(out.glob("global_step*")), "shards dropped"
    assert_same_trained_weights(weights(out), weights(ddp_out), weights(tiny_model_dir))


def test_fsdp2_gathers_full_weights(tiny_model_dir, tmp_path):
    script = ROOT / "tests" / "integration" / "fsdp_gather.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    done = subprocess.run(
        [*command, str(script), str(tiny_model_dir), str(tmp_path)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    shards = json.loads((tmp_path / "shards.json").read_text())
    assert shards["world"] == 2
    for name, (local, full) in shards["shards"].items():
        assert local < full, f"{name} was not sharded"
    assert_same_trained_weights(
        weights(tmp_path / "fsdp"), weights(tmp_path / "replica"), weights(tiny_model_dir), atol=2e-5
    )


def test_trl_kill_9_then_resume(tiny_model_dir, tmp_path):
    steps = 16
    recipe = write_recipe(
        tmp_path, tiny_model_dir, "killed", max_steps=steps, per_device_train_batch_size=1, save_steps=1
    )
    recipe.write_text(recipe.read_text().replace("save_strategy: 'no'", "save_strategy: steps"))
    out = tmp_path / "killed"
    command = [sys.executable, *TRAIN, str(recipe)]
    proc = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if (out / "checkpoint-2" / "trainer_state.json").exists():
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "killed while training"
    assert not (out / "model.safetensors").exists(), "killed before the end"
    saved = sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    assert saved and saved[-1] < steps

    done = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "train_results.json").read_text())
    assert result["resumed_from"] is not None
    assert int(result["resumed_from"].rsplit("-", 1)[1]) >= 2
    assert result["global_step"] == steps
    assert [m["step"] for m in logged(out)] == list(range(1, steps + 1))
    model = weights(out)
    initial = weights(tiny_model_dir)
    assert model.keys() == initial.keys()
    assert all(torch.isfinite(t).all() for t in model.values())
    assert max((model[n] - initial[n]).abs().max().item() for n in model) > 1e-4
