"""`notus eval alpaca`: the AlpacaEval leaderboard from annotation files, or generate + judge + score.

    notus eval alpaca --annotations ../shared/data/alpaca_eval/annotations/*/*.json --json
    notus eval alpaca --model smollm2-135m-instruct --reference ref_outputs.json --max-instances 3 \
        --judge-model smollm2-135m-instruct --judge-prompt alpaca_eval_v2 --output runs/alpaca
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from notus.core.errors import NotusError


def _print_table(rows: dict[str, dict[str, Any]]) -> None:
    print(
        f"{'model':36s} {'win rate':>8s} {'SE':>5s} {'LC':>6s} {'wins':>5s} {'losses':>6s} {'draws':>5s} {'n':>4s} {'len':>5s}"
    )
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["win_rate"]):
        lc = r.get("length_controlled_winrate")
        print(
            f"{name:36s} {r['win_rate']:8.2f} {r['standard_error']:5.2f} {'' if lc is None else f'{lc:6.2f}':>6s} "
            f"{r['n_wins']:5d} {r['n_wins_base']:6d} {r['n_draws']:5d} {r['n_total']:4d} {r['avg_length']:5d}"
        )


def leaderboard_from_files(
    paths: list[str], lc_weights: str | None, difficulty: str | None
) -> dict[str, dict]:
    from notus.eval.alpaca_metrics import leaderboard, load_annotations
    from notus.eval.lc_winrate import add_length_controlled

    rows: dict[str, dict] = {}
    for path in paths:
        annotations = load_annotations(path)
        for model, row in leaderboard(annotations).items():
            add_length_controlled(row, model, annotations, lc_weights, difficulty)
            key = model if model not in rows else f"{model}@{row['annotator']}"
            rows[key] = row | {"file": str(path)}
    return rows


def main(args: argparse.Namespace) -> int:
    log = sys.stderr if args.json else sys.stdout
    if bool(args.annotations) == bool(args.model or args.model_outputs):
        raise NotusError("give either --annotations FILE... or --model/--model-outputs (with --reference)")
    if args.annotations:
        rows = leaderboard_from_files(args.annotations, args.lc_weights, args.instruction_difficulty)
    else:
        from notus.eval.alpaca_run import run_alpaca_eval

        rows = run_alpaca_eval(args, log)
    unparsed = sum(r["n_unparsed"] for r in rows.values())
    if unparsed:
        print(f"{unparsed} annotation(s) have no parsed preference: reported, left out of n_total", file=log)
    if args.json:
        print(json.dumps(rows, indent=2, default=float))
    else:
        _print_table(rows)
    if not args.annotations:
        Path(args.output, "leaderboard.json").write_text(json.dumps(rows, indent=2, default=float) + "\n")
    return 0
