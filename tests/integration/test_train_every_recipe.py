"""Every training recipe, the repo's and alignment-handbook's as published, runs 2 steps on this CPU with
the smoke-test overrides, on both backends where the method exists on both: same parser, same backend
code, same run folder as the GPU run (`notus train METHOD RECIPE --dataset PATH key=value ...`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from notus.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "fixtures" / "train" / "pairs.jsonl"
REPO = sorted((ROOT / "recipes" / "train").rglob("*.yaml"))
HANDBOOK = ROOT.parent / "shared" / "data" / "recipes" / "alignment-handbook"
BOTH = ("dpo", "sft")  # methods both backends implement; kto and orpo are TRL's trainers


def method_of(path: Path) -> str:
    if HANDBOOK in path.parents:
        return "sft" if "sft" in path.parts else "dpo"
    return path.read_text().split("notus train ", 1)[1].split()[0]


def cases() -> list:
    handbook = [p for p in sorted(HANDBOOK.rglob("*.yaml")) if "accelerate_configs" not in p.parts]
    out = []
    for path in REPO + handbook:
        name = str(path.relative_to(HANDBOOK.parent if HANDBOOK in path.parents else ROOT))
        for backend in ("trl", "notus") if method_of(path) in BOTH else ("trl",):
            out.append(pytest.param(path, backend, id=f"{name}-{backend}"))
    return out


def smoke(model: Path, out: Path, backend: str) -> list[str]:
    return [
        f"model_name_or_path={model}",
        f"backend={backend}",
        "max_steps=2",
        "per_device_train_batch_size=2",
        "gradient_accumulation_steps=1",
        "max_length=192",
        "max_prompt_length=96",
        "bf16=false",
        "push_to_hub=false",
        "report_to=[]",
        "save_strategy=no",
        "eval_strategy=no",
        "logging_steps=1",
        "disable_tqdm=true",
        "dataset_mixture.test_split_size=0",
        f"output_dir={out}",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path,backend", cases())
def test_recipe_runs_two_steps_on_cpu(
    path, backend, tiny_model_dir, shared_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(ROOT)
    method = method_of(path)
    out = tmp_path / "run"
    overrides = smoke(tiny_model_dir, out, backend)
    if "\nsft:" in path.read_text():
        overrides += [  # SFT-then-DPO: the SFT stage gets the same smoke overrides
            f"sft.{o}"
            for o in smoke(tiny_model_dir, tmp_path / "sft", backend)
            if not o.startswith("dataset_")
        ] + [f"sft.dataset_mixture={{datasets: [{{id: {PAIRS}}}]}}"]
    code = main(["train", method, str(path), "--dataset", str(PAIRS), *overrides])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[err.find("Traceback") - 500 :][:3000]
    weights = load_file(out / "model.safetensors")
    assert weights and all(t.numel() for t in weights.values())
    result = json.loads((out / "train_results.json").read_text())
    assert result["global_step"] == 2
    lineage = json.loads((out / "lineage.json").read_text())
    assert lineage["backend"] == backend and lineage["data"][str(PAIRS)]["sha256"]
    assert (out / "README.md").read_text().startswith("---\n")
