"""`notus eval alpaca`: the AlpacaEval leaderboard from annotation files, or generate + judge + score.

    notus eval alpaca --annotations ../shared/data/alpaca_eval/annotations/*/*.json --json
    notus eval alpaca --model smollm2-135m-instruct --reference ref_outputs.json --max-instances 3 \
        --judge-model smollm2-135m-instruct --judge-prompt alpaca_eval_v2 --output runs/alpaca
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from notus.core.errors import NotusError
from notus.eval.files import distinct_inputs, output_folder, strict_json, summarize, write_text_atomic


def _fmt(x: float | None, width: int) -> str:
    return f"{'-':>{width}s}" if x is None else f"{x:{width}.2f}"


def _print_table(rows: dict[str, dict[str, Any]]) -> None:
    print(
        f"{'model':36s} {'win rate':>8s} {'SE':>5s} {'LC':>6s} {'wins':>5s} {'losses':>6s} {'draws':>5s} {'n':>4s} {'len':>5s}"
    )
    for name, r in sorted(rows.items(), key=lambda kv: -(kv[1]["win_rate"] or 0)):
        lc = r.get("length_controlled_winrate")
        print(
            f"{name:36s} {_fmt(r['win_rate'], 8)} {_fmt(r['standard_error'], 5)} {_fmt(lc, 6)} "
            f"{r['n_wins']:5d} {r['n_wins_base']:6d} {r['n_draws']:5d} {r['n_total']:4d} {r['avg_length']:5d}"
        )


def leaderboard_from_files(
    paths: list[str],
    lc_weights: str | None,
    difficulty: str | None,
    allow_empty: bool = False,
    option: str = "--annotations",
    log: TextIO = sys.stderr,
) -> dict[str, dict]:
    """Leaderboard rows of annotation files; invalid preferences are counted and reported on `log`."""
    from notus.eval.alpaca_metrics import invalid_preferences, leaderboard, load_annotations
    from notus.eval.lc_winrate import add_length_controlled

    rows: dict[str, dict] = {}
    invalid: list[str] = []
    for path in distinct_inputs(paths, option):
        annotations = load_annotations(path, allow_empty)
        invalid += invalid_preferences(annotations, path)
        for model, row in leaderboard(annotations).items():
            add_length_controlled(row, model, annotations, lc_weights, difficulty)
            key = model if model not in rows else f"{model}@{row['annotator']}"
            rows[key] = row | {"file": str(path)}
    if invalid:
        print(
            f"{len(invalid)} annotation(s) have an invalid preference: counted in n_invalid, not scored: "
            f"{summarize(invalid)}",
            file=log,
        )
    return rows


def main(args: argparse.Namespace) -> int:
    log = sys.stderr if args.json else sys.stdout
    if bool(args.annotations) == bool(args.model or args.model_outputs):
        raise NotusError("give either --annotations FILE... or --model/--model-outputs (with --reference)")
    output_folder(args.output)
    if args.annotations:
        rows = leaderboard_from_files(
            args.annotations, args.lc_weights, args.instruction_difficulty, args.allow_empty, log=log
        )
    else:
        from notus.eval.alpaca_run import run_alpaca_eval

        rows = run_alpaca_eval(args, log)
    unparsed = sum(r["n_unparsed"] for r in rows.values())
    if unparsed:
        print(f"{unparsed} annotation(s) have no parsed preference: reported, left out of n_total", file=log)
    if args.json:
        print(strict_json(rows))
    else:
        _print_table(rows)
    if not args.annotations:
        write_text_atomic(Path(args.output, "leaderboard.json"), strict_json(rows) + "\n")
    return 0
