"""`notus feedback ...`: AI feedback the UltraFeedback way (see docs/feedback.md).

notus feedback generate prompts.jsonl -o generated.jsonl --model smollm2-135m-instruct --backend llamacpp --n 4
notus feedback rate generated.jsonl -o rated.jsonl --judge smollm2-135m-instruct --backend llamacpp --critique
notus feedback run recipes/feedback/cpu.yaml [key=value ...]
notus feedback report rated.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from notus.core.errors import NotusError
from notus.core.types import ASPECTS, PRINCIPLES

SHARD_OPTIONS = {"output", "workers", "shard", "cache", "base_url", "help"}


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", required=True, help="output JSONL (re-run the same command to resume it)"
    )
    p.add_argument("--backend", default="transformers", help="transformers, llamacpp, openai or vllm")
    p.add_argument(
        "--base-url",
        action="append",
        default=[],
        help="OpenAI-compatible endpoint; repeat to spread requests",
    )
    p.add_argument("--concurrency", type=int, default=8, help="parallel requests per endpoint")
    p.add_argument("--batch-prompts", type=int, default=4, help="prompts whose requests are sent together")
    p.add_argument("--workers", type=int, default=1, help="local worker processes on interleaved shards")
    p.add_argument("--shard", default=None, help=argparse.SUPPRESS)  # INDEX/COUNT, set for workers
    p.add_argument("--cache", default=None, help="request cache (default: OUTPUT.cache.sqlite)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("generate", help="N completions per prompt from several models / principles")
    g.add_argument(
        "prompts", help="JSONL/JSON/CSV/Parquet with an instruction or prompt column, or a Hub dataset id"
    )
    g.add_argument("--model", action="append", default=[], help="model reference; repeat for several models")
    g.add_argument("--principles", type=_csv, default=list(PRINCIPLES), help="comma-separated principles")
    g.add_argument("--n", type=int, default=4, help="completions per prompt")
    g.add_argument("--max-new-tokens", type=int, default=256)
    g.add_argument("--temperature", type=float, default=0.7)
    g.add_argument("--top-p", type=float, default=0.95)
    g.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    g.add_argument("--split", default="train", help="split of a Hub dataset")
    _engine_options(g)
    g.set_defaults(func=cmd_generate, _parser=g)

    r = sub.add_parser("rate", help="rate completions on UltraFeedback aspects (+ overall, critique)")
    r.add_argument("input", help="rows with instruction + completions[].response (e.g. from generate)")
    r.add_argument("--judge", default="smollm2-135m-instruct", help="judge model reference")
    r.add_argument(
        "--aspects",
        default="all",
        help=f"'all', 'none' or a comma-separated subset of {', '.join(ASPECTS)}",
    )
    r.add_argument("--overall", action="store_true", help="also the single overall-rating prompt")
    r.add_argument(
        "--critique", action="store_true", help="also a critique + overall_score (1-10) per completion"
    )
    r.add_argument("--json-mode", action="store_true", help="ask for JSON ratings (constrained on llamacpp)")
    r.add_argument("--max-new-tokens", type=int, default=512)
    r.add_argument("--critique-max-new-tokens", type=int, default=256)
    _engine_options(r)
    r.set_defaults(func=cmd_rate, _parser=r)

    run = sub.add_parser("run", help="generate -> rate -> binarize from a recipe, validated first")
    run.add_argument("recipe", help="YAML recipe (see recipes/feedback/)")
    run.add_argument("overrides", nargs="*", help="key=value overrides, e.g. limit=4 generate.n=2")
    run.add_argument("--quiet", action="store_true")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="ratings and parse failures of a rated file")
    rep.add_argument("rated", help="a file written by `notus feedback rate`")
    rep.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    rep.set_defaults(func=cmd_report)


def _worker_argv(args: argparse.Namespace, index: int, part: Path) -> list[str]:
    """The same command for worker `index`: its shard, its part file, the shared cache, one endpoint."""
    argv = ["feedback", args.command, args.prompts if args.command == "generate" else args.input]
    for action in args._parser._actions:
        if not action.option_strings or action.dest in SHARD_OPTIONS:
            continue
        value, flag = getattr(args, action.dest), action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            argv += [flag] if value else []
        elif isinstance(value, list):
            argv += (
                [flag, ",".join(value)]
                if action.dest == "principles"
                else [x for v in value for x in (flag, v)]
            )
        elif value is not None:
            argv += [flag, str(value)]
    if args.base_url:
        argv += ["--base-url", args.base_url[index % len(args.base_url)]]
    cache = args.cache or f"{args.output}.cache.sqlite"
    return argv + ["-o", str(part), "--shard", f"{index}/{args.workers}", "--cache", cache, "--quiet"]


def _model(args: argparse.Namespace, ref: str, **options: object):
    from notus.feedback.engines import open_model

    cache = args.cache or f"{args.output}.cache.sqlite"
    return open_model(ref, args.backend, args.base_url, cache, args.concurrency, **options)


def _shard(args: argparse.Namespace, n: int) -> list[int]:
    from notus.feedback.engines import parse_shard

    index, count = parse_shard(args.shard)
    return list(range(index, n, count))


def _check(args: argparse.Namespace, config_problems: list[str], source: str) -> None:
    """All problems with the options at once, then no output that is (or holds) the input."""
    from notus.core.runs import refuse_overwrite
    from notus.data.numbers import in_range, problems

    def as_flag(problem: str) -> str:  # "top_p 7.0: ..." -> "--top-p 7.0: ..."
        name = problem.split(" ")[0].rstrip(":")
        return f"--{name.replace('_', '-')}{problem[len(name) :]}" if hasattr(args, name) else problem

    found = [as_flag(p) for p in config_problems] + problems(
        in_range("--concurrency", args.concurrency, 1, integer=True),
        in_range("--workers", args.workers, 1, integer=True),
        None if getattr(args, "limit", None) is None else in_range("--limit", args.limit, 1, integer=True),
    )
    if found:
        raise NotusError(f"{len(found)} invalid option(s): " + "; ".join(found))
    out = args.output
    outputs = {"-o": out, "settings file": f"{out}.settings.json", "request cache": args.cache or f"{out}.cache.sqlite",
               "judgments file": f"{out}.judgments.jsonl", "worker parts": f"{out}.parts"}  # fmt: skip
    refuse_overwrite([source], outputs)


def cmd_generate(args: argparse.Namespace) -> int:
    from notus.feedback.engines import run_workers
    from notus.feedback.generate import GenerateConfig, generate
    from notus.feedback.store import load_prompts

    config = GenerateConfig(
        models=args.model or ["smollm2-135m-instruct"],
        principles=args.principles,
        n=args.n,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        batch_prompts=args.batch_prompts,
    )
    _check(args, config.check(), args.prompts)
    prompts = load_prompts(args.prompts, args.split, args.limit)  # checked before any model loads
    if args.workers > 1:
        n = run_workers(lambda i, part: _worker_argv(args, i, part), args.workers, args.output)
        print(f"generated {n} rows with {args.workers} workers -> {args.output}")
        return 0
    indices = _shard(args, len(prompts))
    models = {m: _model(args, m) for m in dict.fromkeys(config.models)}
    new = generate([prompts[i] for i in indices], models, config, args.output, indices, not args.quiet)
    print(f"generated {new} new rows ({len(indices)} in total) -> {args.output}")
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    from notus.feedback.engines import run_workers
    from notus.feedback.rate import RateConfig, check_rows, judge_and_critic, rate
    from notus.feedback.store import read_rows

    aspects = list(ASPECTS) if args.aspects == "all" else [] if args.aspects == "none" else _csv(args.aspects)
    config = RateConfig(
        judge=args.judge,
        aspects=aspects,
        overall=args.overall,
        critique=args.critique,
        json_mode=args.json_mode,
        max_new_tokens=args.max_new_tokens,
        critique_max_new_tokens=args.critique_max_new_tokens,
        seed=args.seed,
        batch_prompts=args.batch_prompts,
    )
    if not Path(args.input).exists():
        raise NotusError(f"input file {args.input!r} does not exist")
    _check(args, config.check(), args.input)
    rows = read_rows(args.input)
    if not rows:
        raise NotusError(f"{args.input}: no rows (the file is empty); run `notus feedback generate` first")
    check_rows(rows, args.input)
    if args.workers > 1:
        n = run_workers(lambda i, part: _worker_argv(args, i, part), args.workers, args.output)
        _merge_judgments(args.output, args.workers)
        print(f"rated {n} rows with {args.workers} workers -> {args.output}")
        return 0
    indices = _shard(args, len(rows))
    json_judge = args.json_mode and args.backend == "llamacpp" and not args.base_url
    # constrained ratings: exactly one per completion when all rows have the same number of completions
    sizes = {len(r["completions"]) for r in rows}
    judge, critic = judge_and_critic(
        lambda **options: _model(args, args.judge, **options),
        json_judge,
        config,
        sizes.pop() if len(sizes) == 1 else None,
    )
    new = rate([rows[i] for i in indices], judge, config, args.output, indices, not args.quiet, critic)
    print(
        f"rated {new} new rows ({len(indices)} in total) -> {args.output}; raw judge answers in {args.output}.judgments.jsonl"
    )
    return 0


def _merge_judgments(output: str, workers: int) -> None:
    from notus.core.runs import write_jsonl
    from notus.feedback.store import read_rows

    records = []
    for i in range(workers):
        path = Path(f"{output}.parts/part-{i:03d}.jsonl.judgments.jsonl")
        records += read_rows(path) if path.exists() else []
    records.sort(key=lambda r: r["row"])  # stable: keeps each row's judge requests in order
    write_jsonl(f"{output}.judgments.jsonl", records)


def cmd_run(args: argparse.Namespace) -> int:
    from notus.core.config import load_recipe
    from notus.feedback.pipeline import FeedbackRecipe, run_pipeline

    recipe = load_recipe(FeedbackRecipe, args.recipe, args.overrides)
    summary = run_pipeline(recipe, progress=not args.quiet, inputs=(args.recipe,))
    failures = sum(summary["parse_failures"].values())
    print(
        f"{summary['rows']} prompts, {summary['completions']} completions, {summary['judge_requests']} judge answers "
        f"({failures} ratings unparsed), {summary['binarize'].get('pairs_out', 0)} DPO pairs -> {recipe.output_dir}/pairs.jsonl; "
        f"report: {recipe.output_dir}/report.md"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from notus.feedback.report import feedback_report, report_markdown

    if not Path(args.rated).is_file():
        raise NotusError(f"rated file {args.rated!r} does not exist")
    summary = feedback_report(args.rated)
    if not summary["rows"]:
        raise NotusError(f"{args.rated}: no rows (the file is empty); run `notus feedback rate` first")
    print(json.dumps(summary, indent=2, allow_nan=False) if args.json else report_markdown(summary))
    return 0
