"""`notus data report` and the in-memory `write_curation_report`: Markdown + self-contained HTML."""

import json
import re
from pathlib import Path

from notus.cli.main import main
from notus.core.runs import read_jsonl
from notus.data.binarize import binarize
from notus.data.report import disagreement, write_curation_report

FIXTURES = Path(__file__).parents[1] / "fixtures" / "data"


def test_report_from_in_memory_rows(tmp_path):
    rated = read_jsonl(FIXTURES / "raw_hand.jsonl")
    pairs, _ = binarize(rated, "notus", seed=0)
    hits = [
        {
            "row": 0,
            "prompt": "Row 1",
            "hits": [
                {
                    "benchmark": "truthfulqa",
                    "item_id": "TruthfulQA.csv:3",
                    "item_text": "Q?",
                    "match": "exact",
                    "overlap": 1.0,
                }
            ],
        }
    ]
    paths = write_curation_report(tmp_path, pairs, rated=rated, hits=hits, title="In memory")
    md = paths["markdown"].read_text()
    # hand-computed: both strategies pick in rows 1, 2, 3, 5; they differ in rows 2 and 3
    assert "choose a different response in **2 of 4** rows (50.0%)" in md
    assert "| truthfulqa | 1 |" in md and "TruthfulQA.csv:3" in md
    summary = json.loads(paths["json"].read_text())
    assert summary["ratings"]["honesty"] == {"1": 1, "2": 4, "3": 3, "4": 7, "5": 2, "N/A": 7}
    assert summary["wins"]["model-b"] == {"chosen": 2, "in_pairs": 2, "win_rate": 1.0}
    assert disagreement(rated)["different_chosen"] == 2


def test_report_cli_on_binarized_sample(shared_data, tmp_path, capsys):
    src = shared_data / "ultrafeedback" / "binarized_overall_score_eval_200.jsonl"
    out = tmp_path / "report"
    assert (
        main(
            [
                "data",
                "report",
                str(src),
                "-o",
                str(out),
                "--against",
                str(shared_data / "benchmarks" / "truthfulqa"),
            ]
        )
        == 0
    )
    assert "ties (score_chosen == score_rejected): 25" in capsys.readouterr().out
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for heading in ("Rows in/out by reason", "Margins", "Chosen vs rejected length", "Contamination hits"):
        assert f"## {heading}" in md and f"<h2>{heading}</h2>" in page
    assert "- ties (score_chosen == score_rejected): 25 (kept)" in md
    assert "ties (margin 0): **24**" in md  # one tie also had chosen == rejected and was filtered
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) >= 3 and all(len(i) > 1000 for i in images)
    assert "http://" not in page and "https://" not in page and "<script" not in page
