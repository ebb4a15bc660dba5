"""`notus eval report`: evaluated models next to published numbers (Markdown + self-contained HTML).

    notus eval report --alpaca-annotations runs/alpaca/annotations.json --harness-results runs/harness/results.json \
        --published ../shared/data/alpaca_eval/leaderboards --reference-results ../shared/data/reference_results
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.eval.files import brief, distinct_inputs, output_folder, read_json, summarize


def _fraction_problem(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{brief(value)} is not a finite number"
    return None if 0 <= value <= 1 else f"{value!r} is not a fraction in [0, 1]"


def load_harness_results(path: str) -> dict[str, Any]:
    """A `notus eval harness` results.json, checked: `model`, `results.<task>.value` in [0, 1] or null."""
    data = read_json(path, "`notus eval harness` results.json")
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise DataError(f"{path}: not a `notus eval harness` results.json (no `results` object)")
    problems = [] if isinstance(data.get("model"), str) else ["field `model` is missing or not text"]
    for task, r in data["results"].items():
        if not isinstance(r, dict) or not isinstance(r.get("metric", ""), str):
            problems.append(f"results.{task} is not an object with a text `metric`")
        elif why := _fraction_problem(r.get("value")):
            problems.append(f"results.{task}.value {why}")
    if why := _fraction_problem(data.get("leaderboard_average")):
        problems.append(f"leaderboard_average {why.replace('a fraction in [0, 1]', 'a number')}")
    if problems:
        raise DataError(f"{path}: {'; '.join(problems)}; rerun `notus eval harness` to recreate it")
    return data


def main(args: argparse.Namespace) -> int:
    from notus.cli.eval_alpaca import leaderboard_from_files
    from notus.eval.mt_bench_scores import load_judgments, mt_bench_scores
    from notus.eval.report import build_report, published_rows

    output = output_folder(args.output)
    alpaca = {}
    if args.alpaca_annotations:
        alpaca = leaderboard_from_files(args.alpaca_annotations, None, None, option="--alpaca-annotations")
    mt_bench = {}
    if args.mt_bench_judgments:
        judgments, invalid = load_judgments(args.mt_bench_judgments, option="--mt-bench-judgments")
        if invalid:
            print(f"{len(invalid)} MT-Bench judgment(s) not scored: {summarize(invalid)}", file=sys.stderr)
        mt_bench = mt_bench_scores(judgments)
    harness = [load_harness_results(p) for p in distinct_inputs(args.harness_results, "--harness-results")]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    published = published_rows(
        Path(args.published) if args.published else None,
        Path(args.reference_results) if args.reference_results else None,
        models,
    )
    md, html = build_report(alpaca, mt_bench, harness, published, output)
    print(f"report: {md}\n        {html}")
    return 0
