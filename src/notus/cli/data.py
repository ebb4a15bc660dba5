"""`notus data ...`: inspect, binarize, convert, decontaminate and report on preference data.

    notus data inspect INPUT
    notus data binarize INPUT --strategy notus -o pairs.jsonl [--rejected all --min-margin 1 --test-size 0.1]
    notus data convert INPUT -o pairs.parquet                 # already-binarized / KTO formats
    notus data decontaminate INPUT --against ../shared/data/benchmarks -o hits.jsonl
    notus data report INPUT -o report/ [--against ...]

Every command ends with `rows in = rows out + filtered (by reason) + quarantined`; quarantined rows
go to a rejects JSONL (file, line, field, reason). Heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from notus.core.errors import NotusError


def _input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input", help="file (.jsonl .json .parquet .csv .pydict.jsonl), `datasets` folder or Hub id"
    )
    p.add_argument(
        "--format", default=None, help="input format when detection is ambiguous (see `notus data inspect`)"
    )
    p.add_argument("--split", default=None, help="split of a `datasets` folder or Hub dataset")


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="PATH",
        help="decontaminate against benchmark files/folders or hub:NAME (repeatable)",
    )
    p.add_argument(
        "--near-dup",
        type=float,
        default=0.8,
        help="near-duplicate Jaccard threshold in [0, 1], 0 = off (default 0.8)",
    )
    p.add_argument("--no-dedup", action="store_true", help="keep duplicate prompts")
    p.add_argument("--keep-bad-responses", action="store_true", help="keep empty/truncated completions")
    p.add_argument(
        "--drop-ties", action="store_true", help="pairs input: drop rows with score_chosen == score_rejected"
    )
    p.add_argument("--rejects", default=None, help="quarantine file (default: OUTPUT stem + .rejects.jsonl)")


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", required=True, help="output .jsonl, .parquet, .json, .csv or a folder (datasets)"
    )
    p.add_argument(
        "--test-size", type=float, default=0.0, help="held-out share, split by prompt hash (default 0)"
    )
    p.add_argument(
        "--push-to-hub", default=None, metavar="REPO_ID", help="also push the dataset to the Hub (online)"
    )


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("inspect", help="detect the format and count rows")
    _input_args(p)
    p.set_defaults(func=_inspect)

    p = sub.add_parser("binarize", help="rated completions -> chosen/rejected pairs (TRL conversational)")
    _input_args(p)
    _output_args(p)
    p.add_argument(
        "--strategy", default="notus", help="notus | zephyr | aspect:NAME | weighted:A=W,B=W (default notus)"
    )
    p.add_argument(
        "--rejected", default="random", choices=["random", "lowest", "all"], help="which lower completion(s)"
    )
    p.add_argument(
        "--top-tie",
        default="first",
        choices=["first", "random", "drop"],
        help="several completions share the best score",
    )
    p.add_argument(
        "--allow-equal",
        default=None,
        choices=["yes", "no"],
        help="rejected may equal chosen's score (zephyr: yes)",
    )
    p.add_argument("--min-margin", type=float, default=0.0, help="minimum chosen - rejected score")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--score-bug",
        default="flag",
        choices=["flag", "drop"],
        help="rows whose overall_score contradicts the aspects",
    )
    _filter_args(p)
    p.set_defaults(func=_binarize)

    p = sub.add_parser("curate", help="binarize/convert from a typed YAML recipe (+ key=value overrides)")
    p.add_argument("recipe", help="curation recipe YAML (see docs/data.md)")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. strategy=zephyr test_size=0.1")
    p.set_defaults(func=_curate)

    p = sub.add_parser("convert", help="already-binarized or unpaired formats -> TRL conversational rows")
    _input_args(p)
    _output_args(p)
    _filter_args(p)
    p.set_defaults(func=_convert)

    p = sub.add_parser(
        "decontaminate",
        help="list prompts matching benchmark items (exact / n-gram)",
        description="Recognised --against files: TruthfulQA.csv, mc_task.json, gsm8k/*.jsonl, mmlu/**/*.csv, "
        "*ARC*.jsonl, *hellaswag*.jsonl, alpaca_eval model_outputs/*.json, MT-Bench question.jsonl; folders are "
        "searched recursively; hub:NAME loads truthfulqa, gsm8k, mmlu, arc, hellaswag, alpaca_eval or mt_bench.",
    )
    _input_args(p)
    p.add_argument(
        "--against", action="append", required=True, metavar="PATH", help="benchmark file/folder or hub:NAME"
    )
    p.add_argument("-o", "--output", default=None, help="hits JSONL (one row per contaminated prompt)")
    p.add_argument("--clean-output", default=None, help="also write the uncontaminated input rows here")
    p.add_argument("--ngram", type=int, default=8, help="n-gram size (default 8)")
    p.add_argument("--min-overlap", type=float, default=0.5, help="share of an item's n-grams (default 0.5)")
    p.set_defaults(func=_decontaminate)

    p = sub.add_parser("report", help="curation report: Markdown + self-contained HTML with plots")
    _input_args(p)
    p.add_argument("-o", "--output", required=True, help="report folder")
    p.add_argument("--strategy", default="notus", help="strategy for the pairs shown (default notus)")
    p.add_argument("--compare", default="zephyr", help="second strategy for the disagreement rate")
    p.add_argument("--seed", type=int, default=42)
    _filter_args(p)
    p.set_defaults(func=_report)


def _options(args: argparse.Namespace, **extra):
    from notus.data.pipeline import CurateOptions

    return CurateOptions(
        near_dup=args.near_dup if args.near_dup > 0 else None,
        dedup=not args.no_dedup,
        drop_bad_responses=not args.keep_bad_responses,
        drop_ties=args.drop_ties,
        against=args.against,
        progress=True,
        **extra,
    )


def _rejects_path(args: argparse.Namespace) -> Path:
    return Path(args.rejects) if args.rejects else _side(Path(args.output), ".rejects.jsonl")


def _side(out: Path, suffix: str) -> Path:
    """`NAME.<suffix>` beside the output `NAME.jsonl` (or folder `NAME`)."""
    return out.with_name(out.name.split(".")[0] + suffix)


def _split_paths(args: argparse.Namespace) -> dict[str, Path]:
    """Where each split goes: the output itself, or `NAME_train.jsonl` / `NAME_test.jsonl`."""
    out = Path(args.output)
    if args.test_size <= 0 or out.suffix == "":
        return {"train": out}
    stem = out.name.split(".", 1)[0]
    suffix = out.name[len(stem) :]
    return {name: out.with_name(f"{stem}_{name}{suffix}") for name in ("train", "test")}


def _check_files(args: argparse.Namespace, inputs: list, outputs: dict) -> None:
    """Before any work: no output (side files included) is an input or a benchmark file."""
    from notus.core.runs import refuse_overwrite

    against = [Path(a) for a in getattr(args, "against", None) or [] if not str(a).startswith("hub:")]
    refuse_overwrite([*inputs, *against], outputs)


def _check_curation_files(args: argparse.Namespace) -> None:
    out = Path(args.output)
    splits = _split_paths(args)
    outputs = {"-o" if len(splits) == 1 else f"-o ({name} split)": path for name, path in splits.items()}
    outputs |= {"--rejects" if args.rejects else "rejects file": _rejects_path(args),
                "contamination file": _side(out, ".contamination.jsonl"),
                "curation summary": _side(out, ".curation.json")}  # fmt: skip
    _check_files(args, [args.input], outputs)


def _check_numbers(args: argparse.Namespace) -> None:
    """Every number and strategy of the command, checked together before any work."""
    from notus.data.numbers import in_range
    from notus.data.strategies import parse_strategy

    ranges = {  # option: (low, high, range keywords); only the command's own options are checked
        "near_dup": (0, 1, {}),
        "test_size": (0, 1, {"high_open": True}),
        "min_margin": (0, None, {}),
        "ngram": (1, None, {"integer": True}),
        "min_overlap": (0, 1, {"low_open": True}),
    }
    found = [
        in_range(f"--{name.replace('_', '-')}", getattr(args, name), low, high, **kw)
        for name, (low, high, kw) in ranges.items()
        if hasattr(args, name)
    ]
    for flag in ("strategy", "compare"):
        if getattr(args, flag, None) is not None:
            try:
                parse_strategy(getattr(args, flag))
            except NotusError as exc:
                found.append(f"--{flag} {getattr(args, flag)!r}: {exc}")
    found = [p for p in found if p]
    if found:
        raise NotusError(f"{len(found)} invalid option(s): " + "; ".join(found))


def _write_streamed(args: argparse.Namespace, curation, rows) -> tuple:
    """Write the output rows as they come (JSON lines outputs): each split file is written as the
    parts are curated, so the output never sits in memory. The result, and the rows per split."""
    from contextlib import ExitStack

    from notus.core.runs import atomic_write, strict_json
    from notus.data.pipeline import split_of

    paths = _split_paths(args)
    counts = dict.fromkeys(paths, 0)
    with ExitStack() as stack:
        files = {name: stack.enter_context(atomic_write(path)) for name, path in paths.items()}
        for row in rows:
            name = split_of(row, args.test_size)
            counts[name] += 1
            files[name].write(strict_json(row, f"{paths[name]} row {counts[name]}") + "\n")
        result = curation.finish(sum(counts.values()))  # before the files are renamed into place
    return result, counts


def _curate_streamed(args: argparse.Namespace, input_path: str, fmt, split, opts, need_rated: bool):
    """Curate `input_path` part by part (`pipeline.curate_file`). JSON lines outputs are written as
    they come; any other output (Parquet, a `datasets` folder, --push-to-hub) is collected first."""
    from notus.data.pipeline import curate_file

    curation, rows = curate_file(input_path, fmt, split, opts)
    if need_rated and curation.kind != "rated":
        raise NotusError(
            f"{input_path} holds {curation.format.name} rows ({curation.kind}), already binarized; "
            f"use `notus data convert {input_path} -o OUTPUT`"
        )
    streamed = all(p.name.lower().endswith(".jsonl") for p in _split_paths(args).values())
    if streamed and not args.push_to_hub:
        return _write_streamed(args, curation, rows)
    collected = list(rows)
    result = curation.finish(len(collected))
    result.rows = collected
    return result, None


def _finish(args: argparse.Namespace, result, written_splits: dict | None = None) -> int:
    from notus.core.runs import atomic_path, atomic_write, strict_json, write_jsonl
    from notus.data.pipeline import split_rows
    from notus.data.readers import write_rows

    out = Path(args.output)
    splits = split_rows(result.rows, args.test_size) if written_splits is None else written_splits
    written = []
    if written_splits is not None:
        paths = _split_paths(args)
        written += [f"{paths[name]} ({n} rows)" for name, n in written_splits.items()]
    elif out.suffix == "" and len(splits) > 1:
        from datasets import Dataset, DatasetDict

        with atomic_path(out) as tmp:
            DatasetDict({k: Dataset.from_list(v) for k, v in splits.items()}).save_to_disk(str(tmp))
        written.append(f"{out} ({', '.join(f'{k}: {len(v)}' for k, v in splits.items())})")
    else:
        paths = _split_paths(args)
        for name, rows in splits.items():
            written.append(f"{write_rows(rows, paths[name])} ({len(rows)} rows)")
    rejects = _rejects_path(args)
    if result.rejects:
        write_jsonl(rejects, result.rejects)
    if result.hits:
        write_jsonl(_side(out, ".contamination.jsonl"), result.hits)
    curation = {  # read back by `notus train` for the model card's data section
        "input": str(args.input),
        "options": {k: v for k, v in vars(args).items() if k not in ("func", "input", "output")},
        "ledger": result.ledger.as_dict(),
        "splits": {name: rows if isinstance(rows, int) else len(rows) for name, rows in splits.items()},
        "contamination_hits": len(result.hits),
    }
    sidecar = _side(out, ".curation.json")
    with atomic_write(sidecar) as fh:
        fh.write(strict_json(curation, str(sidecar), indent=2, default=str))
    written.append(str(sidecar))
    if args.push_to_hub:
        _push(splits, args.push_to_hub)
    print("wrote " + "; ".join(written))
    if result.rejects:
        print(f"quarantined rows: {rejects}")
    print(result.ledger.summary())
    return 0


def _push(splits: dict, repo_id: str) -> None:
    from datasets import Dataset, DatasetDict

    try:
        DatasetDict({k: Dataset.from_list(v) for k, v in splits.items()}).push_to_hub(repo_id)
    except Exception as exc:  # offline, no token, no rights
        raise NotusError(
            f"--push-to-hub {repo_id}: {exc} (log in with `hf auth login`, check the network)"
        ) from None
    print(f"pushed to https://huggingface.co/datasets/{repo_id}")


def _curate(args: argparse.Namespace) -> int:
    from notus.core.config import load_recipe
    from notus.data.recipe import CurateRecipe

    curate_recipe(load_recipe(CurateRecipe, args.recipe, args.overrides))
    return 0


def curate_recipe(recipe, progress: bool = True) -> dict[str, Path]:
    """`notus data curate`: load, curate and write one `CurateRecipe` (what `notus run` calls for its data
    stage); returns the written split files by name (`train`, and `test` when `test_size` > 0)."""
    from notus.core.config import recipe_to_dict
    from notus.data.pipeline import CurateOptions

    out = argparse.Namespace(input=recipe.input, output=recipe.output, test_size=recipe.test_size,
                             push_to_hub=recipe.push_to_hub, rejects=recipe.rejects, against=recipe.against,
                             recipe=recipe_to_dict(recipe))  # fmt: skip
    _check_curation_files(out)
    opts = CurateOptions(
        strategy=recipe.strategy, rejected=recipe.rejected, top_tie=recipe.top_tie, allow_equal=recipe.allow_equal,
        min_margin=recipe.min_margin, seed=recipe.seed, near_dup=recipe.near_dup, dedup=recipe.dedup,
        drop_bad_responses=recipe.drop_bad_responses, score_bug=recipe.score_bug, drop_ties=recipe.drop_ties,
        against=recipe.against, progress=progress,
    )  # fmt: skip
    result, written = _curate_streamed(out, recipe.input, recipe.format, recipe.split, opts, need_rated=False)
    if result.stats is not None:
        print(f"strategy {recipe.strategy}: {result.stats.pairs_out} pairs from {result.stats.rows_out} rows")
    _finish(out, result, written)
    return _split_paths(out)


def _inspect(args: argparse.Namespace) -> int:
    from notus.data.pipeline import load

    loaded = load(args.input, args.format, args.split)
    print(f"{args.input}: format {loaded.format.name} ({loaded.kind}): {loaded.format.describe}")
    print(f"rows read {loaded.rows_read}, usable {len(loaded.records)}, quarantined {len(loaded.rejects)}")
    for rej in loaded.rejects[:10]:
        print(f"  {rej['file']}:{rej['line']} [{rej['field']}] {rej['reason']}")
    return 0


def _binarize(args: argparse.Namespace) -> int:
    _check_numbers(args)
    _check_curation_files(args)
    equal = None if args.allow_equal is None else args.allow_equal == "yes"
    opts = _options(
        args,
        strategy=args.strategy,
        rejected=args.rejected,
        top_tie=args.top_tie,
        allow_equal=equal,
        min_margin=args.min_margin,
        seed=args.seed,
        score_bug=args.score_bug,
    )
    result, written = _curate_streamed(args, args.input, args.format, args.split, opts, need_rated=True)
    print(f"strategy {args.strategy}: {result.stats.pairs_out} pairs from {result.stats.rows_out} rows")
    return _finish(args, result, written)


def _convert(args: argparse.Namespace) -> int:
    from notus.data.pipeline import curate, load

    _check_numbers(args)
    _check_curation_files(args)
    loaded = load(args.input, args.format, args.split)
    if loaded.kind == "rated":
        raise NotusError(
            f"{args.input} holds rated completions ({loaded.format.name}); choose a strategy with "
            f"`notus data binarize {args.input} --strategy notus -o OUTPUT`"
        )
    result = curate(loaded, _options(args))
    print(
        f"format {loaded.format.name} -> TRL {'conversational pairs' if loaded.kind == 'pairs' else 'unpaired (KTO)'}"
    )
    return _finish(args, result)


def _decontaminate(args: argparse.Namespace) -> int:
    from collections import Counter

    from notus.core.runs import write_jsonl
    from notus.data.decontaminate import BenchmarkIndex
    from notus.data.pipeline import _prompt_text, load, validated
    from notus.data.readers import write_rows

    _check_numbers(args)
    _check_files(args, [args.input], {"-o": args.output, "--clean-output": args.clean_output})
    loaded = load(args.input, args.format, args.split)
    index = BenchmarkIndex.from_paths(args.against, n=args.ngram, min_overlap=args.min_overlap)
    print("benchmark items: " + ", ".join(f"{k} {v}" for k, v in index.summary().items()))
    records, quarantined = validated(loaded)
    rows = [r.row for r in records]
    hits = index.match([_prompt_text(r) for r in rows], progress=True)
    for h in hits:
        rec = records[h["row"]]
        h["file"], h["line"] = rec.file, rec.line
    if args.output:
        write_jsonl(args.output, hits)
    by = Counter((h["hits"][0]["benchmark"], h["hits"][0]["match"]) for h in hits)
    print(
        f"{len(hits)} of {len(rows)} prompts matched a benchmark item: "
        + (", ".join(f"{b} {m} {n}" for (b, m), n in sorted(by.items())) or "none")
    )
    for h in hits[:5]:
        top = h["hits"][0]
        print(
            f"  {h['file']}:{h['line']} -> {top['benchmark']} {top['item_id']} ({top['match']}, {top['overlap']}): {top['item_text'][:70]!r}"
        )
    if args.clean_output:
        bad = {h["row"] for h in hits}
        write_rows([r for i, r in enumerate(rows) if i not in bad], args.clean_output)
    clean = len(rows) - len(hits)
    print(
        f"rows in {len(rows) + len(quarantined)} = rows out {clean} + filtered {len(hits)} (contaminated) "
        f"+ quarantined {len(quarantined)}"
    )
    for rej in quarantined[:5]:
        print(f"  quarantined {rej['file']}:{rej['line']} [{rej['field']}] {rej['reason']}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from notus.core.runs import write_jsonl
    from notus.data.report import REPORT_FILES, report_from_input

    _check_numbers(args)
    out = Path(args.output)
    rejects = Path(args.rejects) if args.rejects else out / "rejects.jsonl"
    outputs = {f"-o ({name})": out / name for name in REPORT_FILES.values()} | {"rejects file": rejects}
    _check_files(args, [args.input], outputs)
    paths, result = report_from_input(
        args.input,
        args.output,
        _options(args, strategy=args.strategy, seed=args.seed),
        compare=args.compare,
        fmt=args.format,
        split=args.split,
    )
    print(f"report: {paths['markdown']} and {paths['html']}")
    if result.rejects:
        write_jsonl(rejects, result.rejects)
        print(f"quarantined rows: {rejects}")
    return 0
