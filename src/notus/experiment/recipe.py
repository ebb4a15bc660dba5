"""An experiment recipe: which stage recipes to chain, how many seeds, where to write.

    notus run recipes/experiments/notus-7b-v1.yaml --check      # validate every stage, touch nothing remote

Each stage is a normal stage recipe, named by its path or written inline with the same keys:
- `feedback` (optional): a `notus feedback run` recipe; its rated rows become the data stage's input;
- `data`: a `notus data curate` recipe (validation, filters, dedup, decontamination, `test_size` for the
  held-out split by prompt hash); `strategies` lists the binarizations to compare (each one replaces the
  recipe's `strategy`); `input: ""` is the sample shipped with notus;
- `train`: a `notus train METHOD` recipe (TRL / alignment-handbook keys), run once per strategy and seed
  on the curated train split (its datasets are replaced, as `--dataset` does);
- `eval`: held-out preference accuracy, and optional `alpaca`, `mt_bench`, `harness` blocks holding the
  options of `notus eval alpaca|mt-bench|harness` (e.g. `judge_model`, `judge_base_url`, `tasks`).
The run writes each resolved stage recipe into its folder, so any stage can be rerun with its own CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from notus.core.config import build_recipe, read_yaml
from notus.core.errors import NotusError, RecipeError

SAMPLE = "ultrafeedback_mini.jsonl"  # `input: ""`: the sample shipped in notus/data/samples

DEFAULT_DATA: dict[str, Any] = {"input": "", "test_size": 0.2, "seed": 42}
DEFAULT_TRAIN: dict[str, Any] = {
    "model_name_or_path": "smollm2-135m-instruct",
    "backend": "notus",
    "beta": 0.1,
    "loss_type": "sigmoid",
    "learning_rate": 5.0e-6,
    "max_steps": 16,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_length": 384,
    "lr_scheduler_type": "linear",
    "warmup_ratio": 0.1,
    "logging_steps": 1,
    "gradient_checkpointing": True,
    "report_to": ["jsonl"],
}
JUDGED = {
    "alpaca": "alpaca",
    "mt_bench": "mt-bench",
    "harness": "harness",
}  # eval block -> `notus eval` command


@dataclass
class EvalStage:
    preference: bool = True  # held-out preference accuracy of the base and every trained model
    max_pairs: int | None = None  # only the first N held-out pairs of each strategy
    alpaca: dict[str, Any] | None = None  # options of `notus eval alpaca` for every trained model
    mt_bench: dict[str, Any] | None = None  # options of `notus eval mt-bench`
    harness: dict[str, Any] | None = None  # options of `notus eval harness`
    # judged head-to-head on the held-out prompts: the first strategy's model against the second's, same
    # seed (options of `notus eval alpaca`, e.g. judge_model, judge_base_url, max_new_tokens)
    head_to_head: dict[str, Any] | None = None


@dataclass
class ExperimentRecipe:
    data: str | dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DATA))
    strategies: list[str] = field(default_factory=lambda: ["zephyr", "notus"])
    method: Literal["dpo", "sft", "kto", "orpo"] = "dpo"
    train: str | dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAIN))
    seeds: list[int] = field(default_factory=lambda: [42, 43, 44])
    feedback: str | dict[str, Any] | None = None
    eval: EvalStage = field(default_factory=EvalStage)
    output_dir: str = ""  # "" = runs/notus-experiment-<timestamp>

    def check(self) -> list[str]:
        from notus.data.strategies import parse_strategy

        problems = []
        for s in self.strategies:
            try:
                parse_strategy(s)
            except NotusError as exc:
                problems.append(f"strategies: {s!r}: {exc}")
        if not self.strategies:
            problems.append("strategies: name at least one strategy")
        if len(set(self.strategies)) != len(self.strategies):
            problems.append(f"strategies: {self.strategies} names a strategy twice")
        if not self.seeds:
            problems.append("seeds: name at least one training seed, e.g. [42, 43, 44]")
        if len(set(self.seeds)) != len(self.seeds):
            problems.append(f"seeds: {self.seeds} repeats a seed")
        if self.eval.max_pairs is not None and self.eval.max_pairs < 1:
            problems.append(f"eval.max_pairs must be >= 1, got {self.eval.max_pairs}")
        return problems


def load_experiment(path: str | None, overrides: list[str]) -> ExperimentRecipe:
    """The recipe file (default: `ExperimentRecipe()`, the shipped experiment) with `key=value` overrides;
    `train.max_steps=4` changes one key of the train stage, whether it is inline or a recipe file."""
    from dataclasses import asdict

    from notus.core.config import merge_tree, parse_overrides

    data = read_yaml(path) if path else asdict(ExperimentRecipe())
    tree, problems = parse_overrides(overrides)
    source = str(path) if path else "the default experiment recipe"
    if problems:
        raise RecipeError(problems, source)
    for stage in ("feedback", "data", "train"):
        if isinstance(tree.get(stage), dict) and isinstance(data.get(stage), str):
            data[stage] = stage_keys(data[stage], stage)[0]  # a file's keys, to be overridden one by one
    return build_recipe(ExperimentRecipe, merge_tree(data, tree), source)


def stage_keys(value: str | dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    """(keys, where they come from) of a stage given as a recipe path or an inline block."""
    if isinstance(value, str):
        if not Path(value).is_file():
            raise RecipeError([f"{name}: recipe file {value!r} does not exist (relative to {Path.cwd()})"])
        return read_yaml(value), value
    return dict(value), f"the experiment's inline `{name}` block"


def sample_path() -> str:
    with resources.as_file(resources.files("notus.data") / "samples" / SAMPLE) as path:
        return str(path)


def data_recipe(recipe: ExperimentRecipe, strategy: str, output: str, rated: str | None = None):
    """The `notus data curate` recipe of one strategy: the data stage with `strategy` and `output` set
    (and `input` set to the feedback stage's rated rows, or the shipped sample when it is "")."""
    from notus.data.recipe import CurateRecipe

    keys, source = stage_keys(recipe.data, "data")
    keys = {**keys, "strategy": strategy, "output": output}
    if rated is not None:
        keys["input"] = rated
    elif not keys.get("input"):
        keys["input"] = sample_path()
    curate = build_recipe(CurateRecipe, keys, source)
    if curate.test_size <= 0:
        raise RecipeError(
            ["test_size: the experiment needs held-out prompts; set e.g. test_size: 0.2"], source
        )
    return curate


def train_recipe(recipe: ExperimentRecipe, dataset: str, output_dir: str, seed: int, progress: bool):
    """The `notus train METHOD` recipe of one (strategy, seed): its datasets replaced by `dataset`."""
    from notus.train.recipes import train_recipe_from

    keys, source = stage_keys(recipe.train, "train")
    overrides = [f"output_dir={output_dir}", f"seed={seed}", f"disable_tqdm={str(not progress).lower()}"]
    return train_recipe_from(recipe.method, keys, source, overrides, dataset)


def feedback_recipe(recipe: ExperimentRecipe, output_dir: str):
    from notus.feedback.pipeline import FeedbackRecipe

    keys, source = stage_keys(recipe.feedback, "feedback")
    return build_recipe(FeedbackRecipe, {**keys, "output_dir": output_dir}, source)


def eval_args(
    command: str, options: dict[str, Any], model: str, output: str, block: str | None = None
) -> argparse.Namespace:
    """`notus eval COMMAND --model MODEL --output OUTPUT` plus the block's options, parsed by notus' own
    parser (a bad option is an error naming the block, not a usage message)."""
    from notus.cli.main import build_parser

    argv = ["eval", command, "--model", model, "--output", output]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list):
            argv += [flag, *map(str, value)]
        elif value not in (None, False):
            argv += [flag, str(value)]
    parser, err = build_parser(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit:
        message = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "invalid options"
        block = block or next(k for k, v in JUDGED.items() if v == command)
        raise RecipeError([f"eval.{block}: {message.split('error: ')[-1]}"], "experiment recipe") from None


def check_stages(recipe: ExperimentRecipe, run: str = "runs/check") -> dict[str, Any]:
    """Build every stage recipe the run would use (all problems at once); read no data, load no model."""
    from notus.train.data import looks_local

    problems, summary = [], {"strategies": recipe.strategies, "seeds": recipe.seeds, "method": recipe.method}
    rated = f"{run}/feedback/rated.jsonl" if recipe.feedback is not None else None

    def attempt(what: str, fn):  # noqa: ANN001
        try:
            return fn()
        except NotusError as exc:
            problems.append(f"{what}: " + str(exc).replace("\n", "\n    "))
            return None

    if recipe.feedback is not None:
        from notus.feedback.pipeline import contract_problems

        fb = attempt("feedback", lambda: feedback_recipe(recipe, f"{run}/feedback"))
        if fb is not None:
            problems += [f"feedback: {p}" for p in contract_problems(fb)]
            if looks_local(fb.prompts) and not Path(fb.prompts).exists():
                problems.append(f"feedback: prompts {fb.prompts!r} does not exist (relative to {Path.cwd()})")
            summary["feedback"] = {"prompts": fb.prompts, "limit": fb.limit, "backend": fb.backend}
    for strategy in recipe.strategies:
        curate = attempt("data", lambda s=strategy: data_recipe(recipe, s, f"{run}/data/{s}.jsonl", rated))
        if curate is None:
            break
        if rated is None and looks_local(curate.input) and not Path(curate.input).exists():
            problems.append(f"data: input {curate.input!r} does not exist (relative to {Path.cwd()})")
        summary["data"] = {"input": curate.input, "test_size": curate.test_size, "against": curate.against}
    tr = attempt(
        "train", lambda: train_recipe(recipe, f"{run}/data/x_train.jsonl", f"{run}/models/x", 0, False)
    )
    if tr is not None:
        summary["train"] = {"model": tr.model_name_or_path, "backend": tr.backend, "keys": len(tr.keys)}
    for block, command in JUDGED.items():
        options = getattr(recipe.eval, block)
        if options is not None:
            attempt(f"eval.{block}", lambda c=command, o=options: eval_args(c, o, "MODEL", f"{run}/eval"))
            summary.setdefault("eval", []).append(command)
    if recipe.eval.head_to_head is not None:
        if len(recipe.strategies) < 2:
            problems.append(
                "eval.head_to_head: needs two strategies (the first one's model against the second's)"
            )
        options = {**recipe.eval.head_to_head, "instructions": "I.json", "reference": "R.json"}
        attempt(
            "eval.head_to_head", lambda: eval_args("alpaca", options, "MODEL", f"{run}/eval", "head_to_head")
        )
        summary.setdefault("eval", []).append("head-to-head (alpaca)")
    if problems:
        raise NotusError(f"{len(problems)} stage problem(s):\n" + "\n".join(f"  - {p}" for p in problems))
    return summary
