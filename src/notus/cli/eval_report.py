"""`notus eval report`: evaluated models next to published numbers (Markdown + self-contained HTML).

    notus eval report --alpaca-annotations runs/alpaca/annotations.json --harness-results runs/harness/results.json \
        --published ../shared/data/alpaca_eval/leaderboards --reference-results ../shared/data/reference_results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from notus.core.errors import NotusError


def main(args: argparse.Namespace) -> int:
    from notus.cli.eval_alpaca import leaderboard_from_files
    from notus.core.runs import read_jsonl
    from notus.eval.mt_bench_scores import mt_bench_scores
    from notus.eval.report import build_report, published_rows

    alpaca = leaderboard_from_files(args.alpaca_annotations, None, None) if args.alpaca_annotations else {}
    judgments = [r for path in args.mt_bench_judgments for r in read_jsonl(path)]
    mt_bench = mt_bench_scores(judgments) if judgments else {}
    harness = []
    for path in args.harness_results:
        try:
            harness.append(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise NotusError(f"{path}: not a `notus eval harness` results.json ({exc})") from None
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    published = published_rows(
        Path(args.published) if args.published else None,
        Path(args.reference_results) if args.reference_results else None,
        models,
    )
    md, html = build_report(alpaca, mt_bench, harness, published, Path(args.output))
    print(f"report: {md}\n        {html}")
    return 0
