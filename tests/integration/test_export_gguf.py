"""`notus export gguf` end to end: the embedded model's transformers weights -> f16 GGUF (llama.cpp's
converter) with the same greedy tokens and the chat template; then a 2-step DPO LoRA run (adapter only,
merged by the export) -> q4_k_m GGUF (llama.cpp's quantizer) -> `notus serve` -> the `openai` client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from gguf import GGUFReader
from transformers import AutoTokenizer

from notus.serve.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def export(model: Path | str, out: Path, *args: str) -> tuple[dict, str]:
    cmd = [sys.executable, "-m", "notus", "export", "gguf", str(model), "-o", str(out), *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


def metadata(path: Path, key: str):
    field = GGUFReader(path).fields[key]
    return field.contents()


@pytest.mark.slow
def test_export_embedded_f16_gives_the_same_greedy_tokens(embedded_model_dir, tmp_path):
    out = tmp_path / "smollm2.f16.gguf"
    report, stdout = export(embedded_model_dir, out, "--quant", "f16", "--check-tokens", "32")
    check = report["check"]
    assert check["prompts"] == 4 and check["positions"] >= 4 * 8
    assert check["greedy_equal"] == 4, check  # llama.cpp decodes exactly the transformers greedy tokens
    assert check["top1_agreement"] == 1.0, check
    assert "4/4 identical answers" in stdout
    assert metadata(out, "general.architecture") == "llama"
    assert metadata(out, "general.file_type") == 1  # LLAMA_FTYPE_MOSTLY_F16
    template = AutoTokenizer.from_pretrained(embedded_model_dir).chat_template
    assert metadata(out, "tokenizer.chat_template") == template
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind


@pytest.mark.slow
@pytest.mark.shared_data
def test_dpo_lora_run_exports_q4_serves_and_chats(embedded_model_dir, shared_data, tmp_path):
    run = tmp_path / "dpo"
    data = shared_data / "ultrafeedback" / "binarized_overall_score_train_1000.jsonl"
    overrides = [f"output_dir={run}", "max_steps=2", "per_device_train_batch_size=2", "max_length=128",
                 "max_prompt_length=64", "merge_adapter=false", f"ref_cache_dir={tmp_path / 'cache'}",
                 f"dataset_mixture.datasets=[{{id: {data}, weight: 0.01}}]"]  # fmt: skip
    cmd = [sys.executable, "-m", "notus", "train", "dpo", "recipes/train/cpu/dpo-lora.yaml", *overrides]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run / "adapter" / "adapter_config.json").is_file() and not (run / "config.json").exists()

    gguf = tmp_path / "dpo.q4_k_m.gguf"
    report, stdout = export(run, gguf, "--quant", "q4_k_m", "--check-tokens", "16")
    assert metadata(gguf, "general.file_type") == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert gguf.stat().st_size < 0.6 * 270e6  # well under the f16 size
    assert 0.5 <= report["check"]["top1_agreement"] <= 1.0 and "top-1 agreement" in stdout

    with ServerProcess(str(gguf), ["--backend", "llamacpp", "--threads", "1"]) as server:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused")
        reply = client.chat.completions.create(
            model="dpo.q4_k_m.gguf", messages=[{"role": "user", "content": "Name a primary color."}],
            max_tokens=16, temperature=0,
        )  # fmt: skip
        assert reply.choices[0].message.content.strip()
        assert reply.usage.prompt_tokens > 5 and 0 < reply.usage.completion_tokens <= 16
        chunks = client.chat.completions.create(
            model="dpo.q4_k_m.gguf", messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=16, temperature=0, stream=True,
        )  # fmt: skip
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip()


def test_hub_id_exports_from_the_hub_cache(tiny_model_dir, tmp_path):
    """A Hub id goes through huggingface_hub's snapshot_download: here offline, answered from a Hub cache
    laid out as huggingface_hub writes it (models--org--name/refs/main -> snapshots/<commit>/)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--notus-test--tiny-llama"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in tiny_model_dir.iterdir():
        if file.is_file():
            (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    out = tmp_path / "tiny.q8_0.gguf"
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "notus", "export", "gguf", "notus-test/tiny-llama", "-o", str(out), "--quant", "q8_0"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert metadata(out, "general.file_type") == 7  # LLAMA_FTYPE_MOSTLY_Q8_0
    assert (
        metadata(out, "tokenizer.chat_template")
        == AutoTokenizer.from_pretrained(tiny_model_dir).chat_template
    )

    missing = subprocess.run([*cmd[:5], "notus-test/not-cached", *cmd[6:]], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert missing.returncode == 2 and "could not be downloaded" in missing.stderr
    assert (
        "Traceback" not in missing.stderr
        and not (tmp_path / "hub" / "models--notus-test--not-cached" / "snapshots").exists()
    )
