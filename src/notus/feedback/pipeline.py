"""The AI-feedback pipeline: prompts -> generate -> rate -> binarize -> DPO-ready pairs + report.

    notus feedback run recipes/feedback/cpu.yaml [key=value ...]

Each step declares the fields it needs and produces (its column contract); `validate` walks the
steps over the fields the prompt file provides and reports every gap before any model is loaded.
Outputs in `output_dir`: recipe.yaml, generated.jsonl, rated.jsonl (raw openbmb/UltraFeedback
schema), rated.jsonl.judgments.jsonl (raw judge answers), pairs.jsonl (TRL conversational
preference pairs), report.md / report.json, and the request caches (*.cache.sqlite). Re-running
the same command resumes: nothing already generated or judged is requested again.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from notus.core.errors import RecipeError
from notus.core.runs import atomic_write, refuse_overwrite, start_run, strict_json, write_jsonl
from notus.data import numbers
from notus.feedback import generate as gen
from notus.feedback import rate as rt
from notus.feedback.engines import open_model
from notus.feedback.report import feedback_report, report_markdown
from notus.feedback.store import cache_path, load_prompts, read_rows
from notus.llm.contract import BACKENDS


@dataclass
class BinarizeConfig:
    strategy: Literal["notus", "zephyr"] = "notus"
    seed: int = 42


@dataclass
class FeedbackRecipe:
    prompts: str  # a JSONL/JSON/CSV/Parquet file with an instruction/prompt column, or a Hub dataset id
    output_dir: str = "runs/feedback"
    split: str = "train"  # for a Hub dataset
    limit: int | None = None  # use only the first N prompts
    backend: str = "transformers"  # for the generator models
    base_urls: list[str] = field(default_factory=list)  # OpenAI-compatible endpoints for the generators
    judge_backend: str = "transformers"
    judge_base_urls: list[str] = field(default_factory=list)
    generate: gen.GenerateConfig = field(default_factory=gen.GenerateConfig)
    rate: rt.RateConfig = field(default_factory=rt.RateConfig)
    binarize: BinarizeConfig = field(default_factory=BinarizeConfig)

    def check(self) -> list[str]:
        return (
            []
            if self.limit is None
            else numbers.problems(numbers.in_range("limit", self.limit, 1, integer=True))
        )


@dataclass
class Step:
    name: str
    needs: tuple[str, ...]
    produces: tuple[str, ...]


def steps(recipe: FeedbackRecipe) -> list[Step]:
    rate_produces = rt.PRODUCES + (rt.PRODUCES_CRITIQUE if recipe.rate.critique else ())
    score_field = (
        "completions[].annotations" if recipe.binarize.strategy == "notus" else "completions[].overall_score"
    )
    return [
        Step("generate", gen.NEEDS, gen.PRODUCES),
        Step("rate", rt.NEEDS, rate_produces),
        Step(
            f"binarize ({recipe.binarize.strategy})",
            ("instruction", "completions[].response", score_field),
            (),
        ),
    ]


def contract_problems(recipe: FeedbackRecipe) -> list[str]:
    """Unknown backends and fields a step needs that no earlier step produces (no I/O, no model)."""
    _register_backends()
    problems = [
        f"{key}: unknown backend {value!r}; choose one of {', '.join(BACKENDS.names())}"
        for key, value in (("backend", recipe.backend), ("judge_backend", recipe.judge_backend))
        if value not in BACKENDS.names()
    ]
    if "llamacpp" in (recipe.backend, recipe.judge_backend) and importlib.util.find_spec("llama_cpp") is None:
        problems.append(
            "the llamacpp backend needs llama-cpp-python, which is not installed: `pip install "
            "llama-cpp-python` (about 8 min to compile) or `bash scripts/setup.sh test`"
        )
    available = {"source", "instruction", "correct_answers", "incorrect_answers"}
    for step in steps(recipe):
        missing = [f for f in step.needs if f not in available]
        problems += [f"step {step.name!r} needs field {f!r}, which no earlier step produces" for f in missing]
        available |= set(step.produces)
    return problems


def validate(recipe: FeedbackRecipe) -> list[dict[str, Any]]:
    """Check backends, column contracts and the prompt file; return the prompts. Loads no model."""
    problems = contract_problems(recipe)
    if problems:
        raise RecipeError(problems, "feedback recipe")
    return load_prompts(recipe.prompts, recipe.split, recipe.limit)


def _register_backends() -> None:
    import notus.llm.llamacpp_backend  # noqa: F401
    import notus.llm.openai_backend  # noqa: F401
    import notus.llm.transformers_backend  # noqa: F401
    import notus.llm.vllm_backend  # noqa: F401


OUTPUT_FILES = ("recipe.yaml", "generated.jsonl", "rated.jsonl", "rated.jsonl.judgments.jsonl", "pairs.jsonl",
                "report.json", "report.md")  # fmt: skip


def run_pipeline(recipe: FeedbackRecipe, progress: bool = True, inputs: tuple = ()) -> dict[str, Any]:
    """generate -> rate -> binarize into `recipe.output_dir`; `inputs` (e.g. the recipe file) and the
    prompts are never among the files it writes."""
    out_dir = Path(recipe.output_dir)
    refuse_overwrite(
        [recipe.prompts, *inputs], {f"output_dir file {name}": out_dir / name for name in OUTPUT_FILES}
    )
    prompts = validate(recipe)
    out = start_run(recipe.output_dir, recipe)
    generated, rated = out / "generated.jsonl", out / "rated.jsonl"
    loaded: dict[tuple, Any] = {}

    def model(ref: str, backend: str, urls: list[str], cache: Path, **options: object) -> Any:
        key = (ref, backend, tuple(urls), cache)
        if key not in loaded:
            loaded[key] = open_model(ref, backend, urls or None, cache=cache, **options)
        return loaded[key]

    models = {
        m: model(m, recipe.backend, recipe.base_urls, cache_path(generated)) for m in recipe.generate.models
    }
    gen.generate(prompts, models, recipe.generate, str(generated), progress=progress)
    judge_args = (recipe.rate.judge, recipe.judge_backend, recipe.judge_base_urls, cache_path(rated))
    json_judge = recipe.rate.json_mode and recipe.judge_backend == "llamacpp"  # grammar-constrained ratings
    judge, critic = rt.judge_and_critic(
        lambda **options: (
            open_model(*judge_args[:2], None, judge_args[3], **options) if options else model(*judge_args)
        ),
        json_judge,
        recipe.rate,
        recipe.generate.n,
    )
    rt.rate(read_rows(generated), judge, recipe.rate, str(rated), progress=progress, critic=critic)

    from notus.data.binarize import binarize

    pairs, stats = binarize(read_rows(rated), recipe.binarize.strategy, recipe.binarize.seed)
    write_jsonl(out / "pairs.jsonl", pairs)
    summary = feedback_report(rated, stats.as_dict())
    used = {"judge": judge, **({"critic": critic} if critic is not judge and critic else {}), **models}
    summary["cache"] = {name: vars(m.stats) for name, m in used.items() if hasattr(m, "stats")}
    for name, text in (
        ("report.json", strict_json(summary, "report.json", indent=2)),
        ("report.md", report_markdown(summary)),
    ):
        with atomic_write(out / name) as fh:
            fh.write(text)
    return summary
