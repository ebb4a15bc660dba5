"""`notus eval harness`: Open LLM Leaderboard v1 tasks through lm-evaluation-harness.

notus eval harness --model smollm2-135m-instruct --tasks leaderboard --offline-data ../shared/data/benchmarks --limit 5
notus eval harness --model argilla/notus-7b-v1 --tasks leaderboard --compare ../shared/data/reference_results/notus-7b-v1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _fmt(x: float | None) -> str:
    return "     -" if x is None else f"{100 * x:6.2f}"


def main(args: argparse.Namespace) -> int:
    from notus.eval.harness import reference_scores, resolve_tasks, run_harness

    summary = run_harness(
        args.model,
        resolve_tasks(args.tasks),
        Path(args.output),
        offline_data=args.offline_data,
        base_url=args.base_url,
        limit=args.limit,
        num_fewshot=args.num_fewshot,
        batch_size=args.batch_size,
    )
    reference = reference_scores(args.compare) if args.compare else {}
    if reference:
        summary["reference"] = {"folder": args.compare, "scores": reference}
        Path(args.output, "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    log = sys.stdout
    print(f"{'task':16s} {'shots':>5s} {'metric':26s} {'ours':>6s} {'ref':>6s}", file=log)
    for name, r in summary["results"].items():
        print(
            f"{name:16s} {r['shots']!s:>5s} {r['metric']:26s} {_fmt(r['value'])} {_fmt(reference.get(name))}"
        )
    for name, why in summary["skipped"].items():
        print(f"{name:16s} skipped: {why}")
    average = summary["leaderboard_average"]
    if average is not None:
        note = "" if summary["average_is_complete"] else " (over the tasks that ran; not all six)"
        print(f"leaderboard average: {average:.2f}{note}")
    if args.limit:
        print(f"--limit {args.limit}: a subset, not comparable with published numbers")
    print(f"results: {Path(args.output) / 'results.json'}")
    return 0
