"""Offline end to end on the real embedded model (llama.cpp on CPU), reduced size: 3 prompts x 4
principles -> rated on the four aspects (JSON mode, grammar-constrained) by the same model as judge -> Notus
binarization -> DPO-ready pairs and a report of ratings and parse failures. A second run of the
same command is answered entirely from the request cache. The full 20-prompt run is
`notus feedback run recipes/feedback/cpu.yaml` (docs/feedback.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from notus.core.runs import read_jsonl
from notus.data.binarize import ASPECTS, binarize

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_generate_rate_binarize_offline_with_embedded_model(tmp_path):
    pytest.importorskip("llama_cpp", reason="install llama-cpp-python (scripts/setup.sh does)")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "notus", "feedback", "run", str(ROOT / "recipes/feedback/cpu.yaml"),
           f"prompts={ROOT / 'tests/fixtures/feedback/prompts_20.jsonl'}", "limit=3", f"output_dir={out}",
           "generate.max_new_tokens=24", "rate.max_new_tokens=256", "rate.critique=false", "--quiet"]  # fmt: skip
    first = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    assert "DPO pairs" in first.stdout

    generated = read_jsonl(out / "generated.jsonl")
    assert len(generated) == 3
    for row in generated:
        assert [c["principle"] for c in row["completions"]] == [
            "helpfulness", "honesty", "truthfulness", "verbalized_calibration"
        ]  # fmt: skip
        assert all(
            c["model"] == "smollm2-135m-instruct" and c["response"].strip() for c in row["completions"]
        )
        assert len({c["response"] for c in row["completions"]}) > 1  # principles and seeds differ

    rated = read_jsonl(out / "rated.jsonl")
    judgments = read_jsonl(out / "rated.jsonl.judgments.jsonl")
    assert len(rated) == 3 and len(judgments) == 3 * 4  # one prompt per aspect rates all 4 completions
    for row in rated:
        for c in row["completions"]:
            assert set(c["annotations"]) == set(ASPECTS)
            for aspect, a in c["annotations"].items():
                assert a["Rating"] in (None, "N/A", "1", "2", "3", "4", "5"), (aspect, a)
    assert all(j["raw"] is not None for j in judgments)

    report = json.loads((out / "report.json").read_text())
    assert report["rows"] == 3 and report["completions"] == 12
    parsed = sum(report["status"][a].get("ok", 0) + report["status"][a].get("na", 0) for a in ASPECTS)
    assert (
        parsed + sum(report["parse_failures"][a] for a in ASPECTS) == 3 * 4 * 4
    )  # every rating accounted for
    assert "| judged | ok | N/A | unparsed |" in (out / "report.md").read_text()

    pairs = read_jsonl(out / "pairs.jsonl")
    expected, stats = binarize(rated, "notus", seed=42)
    assert pairs == json.loads(json.dumps(expected)) and report["binarize"]["rows_in"] == 3
    for pair in pairs:  # TRL conversational preference rows
        assert pair["prompt"][0]["role"] == "user" and pair["chosen"][0]["role"] == "assistant"
        assert pair["score_chosen"] > pair["score_rejected"]

    (out / "rated.jsonl").unlink()  # lose the rated rows: the re-run judges again, from the cache only
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    again = json.loads((out / "report.json").read_text())
    assert again["cache"]["judge"]["hits"] == 12  # every judge request answered from the cache
    assert all(c["misses"] == 0 for c in again["cache"].values())
    assert read_jsonl(out / "rated.jsonl") == rated
