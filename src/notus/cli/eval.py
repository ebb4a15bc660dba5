"""`notus eval ...` commands: alpaca, mt-bench, harness, preference, report.

    notus eval alpaca --annotations ../shared/data/alpaca_eval/annotations/*/*.json --json
    notus eval mt-bench --answers answers.jsonl --judge-model gpt-4 --output runs/mt_bench
    notus eval harness --model smollm2-135m-instruct --tasks leaderboard --offline-data ../shared/data/benchmarks
    notus eval preference --model runs/x/model --reference smollm2-135m-instruct --data pairs.jsonl
    notus eval report --alpaca-annotations ann.json --published ../shared/data/alpaca_eval/leaderboards

Each command lives in `cli/eval_<name>.py`; this module only declares the arguments.
"""

from __future__ import annotations

import argparse
import importlib
import math


def _run(module: str):
    def call(args: argparse.Namespace) -> int:
        return importlib.import_module(f"notus.cli.{module}").main(args)

    return call


def count(minimum: int):
    """argparse type: an integer >= `minimum` (a bad value is a usage error, not a traceback)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def finite(minimum: float, inclusive: bool = True):
    """argparse type: a finite float >= `minimum` (> when not inclusive); NaN and inf are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(
                f"{text} must be a finite number {'>=' if inclusive else '>'} {minimum}"
            )
        return value

    return parse


def add_judge_args(p: argparse.ArgumentParser, default_model: str) -> None:
    g = p.add_argument_group("judge")
    g.add_argument("--judge-model", default=default_model, help=f"judge model (default {default_model})")
    g.add_argument("--judge-base-url", help="OpenAI-compatible endpoint (vLLM, TGI, `notus serve`, OpenAI)")
    g.add_argument("--judge-api-key", help="API key (default: $OPENAI_API_KEY)")
    g.add_argument(
        "--judge-concurrency", type=count(1), default=8, help="parallel judge requests (default 8)"
    )
    g.add_argument(
        "--judge-max-retries", type=count(0), default=6, help="retries on 429/5xx/timeouts (default 6)"
    )
    g.add_argument(
        "--judge-price-in", type=finite(0), help="USD per 1k prompt tokens (default: known list price)"
    )
    g.add_argument("--judge-price-out", type=finite(0), help="USD per 1k completion tokens")
    g.add_argument(
        "--judge-max-tokens", type=count(1), help="cap the judge's new tokens (default: the benchmark's)"
    )
    g.add_argument("--judge-cache", help="SQLite judgment cache (default OUTPUT/judge_cache.sqlite)")


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("alpaca", help="AlpacaEval: win rates from annotations, or generate + judge")
    p.add_argument("--annotations", nargs="+", metavar="FILE", help="alpaca_eval annotations.json file(s)")
    p.add_argument("--model", help="model to evaluate (generates its outputs)")
    p.add_argument("--model-base-url", help="serve --model from this OpenAI-compatible endpoint")
    p.add_argument("--model-outputs", help="existing outputs in alpaca_eval's model_outputs.json format")
    p.add_argument("--instructions", help="instructions file (model_outputs.json format; default Hub)")
    p.add_argument("--reference", help="reference outputs (model_outputs.json format)")
    p.add_argument("--judge-prompt", default="alpaca_eval_v2", choices=["alpaca_eval_v1", "alpaca_eval_v2"])
    p.add_argument("--max-instances", type=count(1), help="only the first N instructions")
    p.add_argument("--max-new-tokens", type=count(1), default=2048)
    p.add_argument("--seed", type=int, default=0, help="seed of the per-instruction output order")
    p.add_argument("--lc-weights", help="length-controlled GLM weights CSV (alpaca_eval format)")
    p.add_argument("--instruction-difficulty", help="alpaca_eval instruction_difficulty.csv (LC win rate)")
    p.add_argument("--output", default="runs/alpaca_eval", help="output folder")
    p.add_argument("--json", action="store_true", help="print the leaderboard rows as JSON")
    p.add_argument(
        "--allow-empty", action="store_true", help="an empty annotations file gives {} (default: error)"
    )
    add_judge_args(p, "gpt-4-1106-preview")
    p.set_defaults(func=_run("eval_alpaca"))

    p = sub.add_parser("mt-bench", help="MT-Bench: two-turn answers and single-answer grading")
    p.add_argument("--model", help="model to evaluate (generates its answers)")
    p.add_argument("--model-base-url", help="serve --model from this OpenAI-compatible endpoint")
    p.add_argument("--model-id", help="model name in the answer/judgment files (default: --model)")
    p.add_argument("--answers", nargs="+", metavar="FILE", help="FastChat model_answer JSONL file(s)")
    p.add_argument("--judgments", nargs="+", metavar="FILE", help="score existing model_judgment JSONL")
    p.add_argument("--questions", help="FastChat question.jsonl (default: Hub)")
    p.add_argument("--reference-answers", help="FastChat reference_answer JSONL (math, reasoning, coding)")
    p.add_argument("--question-ids", help="comma-separated subset of question ids")
    p.add_argument("--max-questions", type=count(1), help="only the first N questions")
    p.add_argument("--max-new-tokens", type=count(1), default=1024)
    p.add_argument("--output", default="runs/mt_bench", help="output folder")
    p.add_argument("--json", action="store_true", help="print scores per model as JSON")
    p.add_argument(
        "--allow-empty", action="store_true", help="an empty judgments file gives {} (default: error)"
    )
    add_judge_args(p, "gpt-4")
    p.set_defaults(func=_run("eval_mt_bench"))

    p = sub.add_parser("harness", help="lm-evaluation-harness with Open LLM Leaderboard v1 settings")
    p.add_argument("--model", required=True, help="local model reference, or a served model name")
    p.add_argument("--base-url", help="OpenAI-compatible chat endpoint (lm-eval local-chat-completions)")
    p.add_argument("--tasks", default="leaderboard", help="`leaderboard` or comma-separated task names")
    p.add_argument("--offline-data", help="folder like ../shared/data/benchmarks: use local task files")
    p.add_argument("--limit", type=count(1), help="only the first N examples per task")
    p.add_argument("--num-fewshot", type=count(0), help="override every task's few-shot count")
    p.add_argument("--batch-size", type=count(1), default=4)
    p.add_argument("--output", default="runs/harness", help="output folder")
    p.add_argument("--compare", help="folder of lm-eval result JSONs to compare with")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run("eval_harness"))

    p = sub.add_parser("preference", help="preference accuracy on held-out pairs (no judge)")
    p.add_argument("--model", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--data", required=True, help="TRL conversational pairs JSONL (prompt/chosen/rejected)")
    p.add_argument("--beta", type=finite(0, inclusive=False), default=0.1)
    p.add_argument("--max-pairs", type=count(1))
    p.add_argument("--max-length", type=count(1), default=512, help="as in the DPO recipe (default 512)")
    p.add_argument(
        "--max-prompt-length", type=count(1), default=None, help="as in the DPO recipe (default: no cut)"
    )
    p.add_argument("--per-pair", action="store_true", help="also list each pair's outcome (0/1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run("eval_preference"))

    p = sub.add_parser("report", help="comparison report next to published numbers (Markdown + HTML)")
    p.add_argument("--alpaca-annotations", nargs="*", default=[], metavar="FILE")
    p.add_argument("--mt-bench-judgments", nargs="*", default=[], metavar="FILE")
    p.add_argument("--harness-results", nargs="*", default=[], metavar="FILE", help="notus harness JSONs")
    p.add_argument(
        "--published", help="folder with alpaca_eval leaderboards (../shared/data/alpaca_eval/leaderboards)"
    )
    p.add_argument("--reference-results", help="folder of <model>/ lm-eval result JSONs (reference_results)")
    p.add_argument("--models", default="zephyr-7b-beta,notus-7b-v1", help="published models to show")
    p.add_argument("--output", default="runs/eval_report")
    p.set_defaults(func=_run("eval_report"))
