"""`notus eval report`: evaluated rows beside published ones (from files only), a self-contained HTML
page, and model-index blocks that parse as YAML."""

from __future__ import annotations

import subprocess
import sys

import yaml


def test_report_puts_evaluated_next_to_published(shared_data, tmp_path):
    ae = shared_data / "alpaca_eval"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "notus",
            "eval",
            "report",
            "--alpaca-annotations",
            str(ae / "annotations/alpaca_eval_gpt4/zephyr-7b-alpha.json"),
            "--mt-bench-judgments",
            str(shared_data / "mt_bench/model_judgment/gpt-4_single.jsonl"),
            "--published",
            str(ae / "leaderboards"),
            "--reference-results",
            str(shared_data / "reference_results"),
            "--output",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    md = (tmp_path / "report.md").read_text()
    assert "| zephyr-7b-alpha | evaluated | AlpacaEval 1 | 85.76 | 1.23 | - | 1302 | -10 % | 804 |" in md
    assert "| zephyr-7b-beta | published | AlpacaEval 2 | 10.99 | 0.96 | 13.20 | 1444 | +0 % | 805 |" in md
    assert "| mistral-orpo-capybara | evaluated | 7.12 | 6.51 | 6.82 | 0 |" in md
    assert "| zephyr-7b-beta | published | - | - | 7.34 | - |" in md
    assert "| notus-7b-v1 | published | 64.25 | 84.90 | 61.69 | 52.77 | 74.51 | 39.50 | 62.94 |" in md
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and "http://" not in page and "https://" not in page
    blocks = [b for b in yaml.safe_load_all((tmp_path / "model_index.yaml").read_text()) if b]
    names = {b["model-index"][0]["name"] for b in blocks}
    assert names == {"zephyr-7b-alpha", "mistral-orpo", "mistral-orpo-mix", "mistral-orpo-capybara"}
    alpha = next(b for b in blocks if b["model-index"][0]["name"] == "zephyr-7b-alpha")["model-index"][0]
    assert alpha["results"][0]["metrics"][0] == {"type": "win_rate", "value": 85.76}
