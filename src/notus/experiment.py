"""The Notus experiment in miniature: the same rated data binarized two ways, a DPO run on each.

    notus run                                   # the default recipe, embedded model, CPU, offline
    notus run recipes/notus_experiment.yaml dpo.max_steps=10 output_dir=runs/quick

1. load raw openbmb/UltraFeedback rows (default: the hand-written sample shipped with notus);
2. hold out a test split of prompts, then binarize train and test with each strategy (`zephyr`:
   chosen by critique `overall_score`; `notus`: chosen by the mean of the four aspect ratings) and
   count how often the chosen response differs;
3. DPO-train the model on each binarization with notus' DPO loop (short, fixed seed);
4. evaluate the base model and every trained model: held-out preference accuracy (implicit reward
   against the base model as reference, and the model's own log-prob preference) on every strategy's
   test pairs, and greedy answers to a few fixed prompts;
5. write the run folder: resolved recipe, dataset stats, per-step metrics (JSONL), trained models
   (safetensors + tokenizer), report.md and a self-contained report.html.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from notus.core.config import file_field, load_recipe
from notus.core.errors import DataError
from notus.core.runs import new_run_dir, start_run, write_jsonl
from notus.data.binarize import SCORERS, binarize

DEFAULT_PROMPTS = [
    "Give me three tips for writing a clear bug report.",
    "What is the boiling point of water at sea level in Fahrenheit?",
    "Explain in two sentences why the sky is blue.",
]


@dataclass
class DPOSettings:
    beta: float = 0.1
    loss_type: Literal["sigmoid", "ipo", "hinge"] = "sigmoid"
    learning_rate: float = 5e-6
    max_steps: int = 16
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 384
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    warmup_ratio: float = 0.1
    logging_steps: int = 1

    def check(self) -> list[str]:
        problems = []
        if self.beta <= 0:
            problems.append(f"dpo.beta must be > 0, got {self.beta}")
        if self.max_steps < 1:
            problems.append(f"dpo.max_steps must be >= 1, got {self.max_steps}")
        return problems


@dataclass
class ExperimentRecipe:
    model: str = "smollm2-135m-instruct"
    data: str = file_field("")  # raw UltraFeedback JSONL; empty = the sample shipped with notus
    strategies: list[str] = field(default_factory=lambda: ["zephyr", "notus"])
    test_size: float = 0.2
    max_rows: int | None = None
    seed: int = 42
    dpo: DPOSettings = field(default_factory=DPOSettings)
    eval_batch_size: int = 4
    eval_prompts: list[str] = field(default_factory=lambda: list(DEFAULT_PROMPTS))
    eval_max_new_tokens: int = 64
    output_dir: str = ""  # empty = runs/notus-experiment-<timestamp>

    def check(self) -> list[str]:
        problems = [
            f"strategies: {s!r} is not one of {sorted(SCORERS)}" for s in self.strategies if s not in SCORERS
        ]
        if not self.strategies:
            problems.append("strategies: name at least one strategy")
        if not 0 < self.test_size < 1:
            problems.append(f"test_size must be between 0 and 1, got {self.test_size}")
        return problems


def load_raw_rows(path: str) -> tuple[list[dict], str]:
    """Raw UltraFeedback rows from any input `notus.data.readers` reads (default: the sample shipped
    with notus); a row that cannot be used stops the run with file, line and field."""
    from notus.data.readers import read_rows

    sample = resources.files("notus.data") / "samples" / "ultrafeedback_mini.jsonl"
    source = path or "notus sample ultrafeedback_mini.jsonl"
    with resources.as_file(sample) as local:
        records = read_rows(path or local)
    rows = []
    for rec in records:
        where, row = f"{rec.file}:{rec.line}", rec.row
        for key in ("instruction", "completions"):
            if key not in row:
                raise DataError(f"{where}: field {key!r} is missing (raw UltraFeedback schema)")
        completions = row["completions"]
        if not isinstance(completions, list) or not all(
            isinstance(c, dict) and "response" in c for c in completions
        ):
            raise DataError(f"{where}: 'completions' must be a list of objects with a 'response'")
        rows.append(row)
    return rows, source


def split_rows(rows: list[dict], test_size: float, seed: int) -> tuple[list[dict], list[dict]]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(rows) * test_size))
    test = set(order[:n_test])
    return [r for i, r in enumerate(rows) if i not in test], [r for i, r in enumerate(rows) if i in test]


def chosen_agreement(rows: list[dict], a: str, b: str, seed: int) -> dict:
    """How often strategies a and b pick a different chosen response, over rows both keep."""
    picks = {}
    for strategy in (a, b):
        pairs, _ = binarize(rows, strategy, seed)
        picks[strategy] = {p["prompt"][0]["content"]: p["chosen_index"] for p in pairs}
    common = picks[a].keys() & picks[b].keys()
    differ = sum(picks[a][k] != picks[b][k] for k in common)
    return {"rows_both_kept": len(common), "chosen_differs": differ, "share": differ / max(len(common), 1)}


def train_strategy(
    model_path: str, pairs: list[dict], out_dir: Path, cfg: DPOSettings, seed: int, log: Path
) -> Path:
    """DPO with notus' lean loop (`notus.train.dpo`) on CPU; its per-step metrics are copied to `log`."""
    from notus.train.dpo import train_dpo
    from notus.train.recipes import train_recipe

    recipe = train_recipe(
        "dpo",
        backend="notus",
        gradient_checkpointing=True,
        model_name_or_path=model_path,
        output_dir=str(out_dir),
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        learning_rate=cfg.learning_rate,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: below 1 is a ratio of the steps
        logging_steps=cfg.logging_steps,
        seed=seed,
    )
    columns = ["prompt", "chosen", "rejected"]
    result = train_dpo(recipe, [{k: p[k] for k in columns} for p in pairs])
    log.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out_dir / "metrics.jsonl", log)
    return Path(result["output_dir"])


def answer_prompts(model_ref: str, prompts: list[str], max_new_tokens: int) -> list[str]:
    from notus.llm.contract import GenerationParams, load_model

    model = load_model(model_ref, batch_size=len(prompts))
    conversations = [[{"role": "user", "content": p}] for p in prompts]
    return [c.text for c in model.generate(conversations, GenerationParams(max_new_tokens=max_new_tokens))]


def main(recipe_path: str | None, overrides: list[str]) -> int:
    from notus.eval.preference import preference_metrics, sequence_logps
    from notus.experiment_report import write_report
    from notus.llm.models import resolve_model

    recipe = load_recipe(ExperimentRecipe, recipe_path, overrides)  # fails fast, before any model loads
    run = start_run(recipe.output_dir or new_run_dir("runs", "notus-experiment"), recipe)
    started = time.time()
    print(f"notus run: writing to {run}")

    rows, source = load_raw_rows(recipe.data)
    rows = rows[: recipe.max_rows] if recipe.max_rows else rows
    train_rows, test_rows = split_rows(rows, recipe.test_size, recipe.seed)
    stats: dict = {
        "source": source,
        "rows": len(rows),
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
    }
    pairs: dict[str, dict[str, list[dict]]] = {}
    for strategy in recipe.strategies:
        train_pairs, train_stats = binarize(train_rows, strategy, recipe.seed)
        test_pairs, test_stats = binarize(test_rows, strategy, recipe.seed)
        pairs[strategy] = {"train": train_pairs, "test": test_pairs}
        stats[strategy] = {"train": train_stats.as_dict(), "test": test_stats.as_dict()}
        write_jsonl(run / "data" / f"{strategy}_train.jsonl", train_pairs)
        write_jsonl(run / "data" / f"{strategy}_test.jsonl", test_pairs)
    if len(recipe.strategies) >= 2:
        stats["chosen_differs"] = chosen_agreement(
            rows, recipe.strategies[0], recipe.strategies[1], recipe.seed
        )
        d = stats["chosen_differs"]
        print(
            f"chosen response differs between {recipe.strategies[0]} and {recipe.strategies[1]}: "
            f"{d['chosen_differs']}/{d['rows_both_kept']} rows ({d['share']:.0%})"
        )
    (run / "dataset_stats.json").write_text(json.dumps(stats, indent=2))

    base = resolve_model(recipe.model)
    models = {"base": base}
    timings = {}
    for strategy in recipe.strategies:
        print(f"DPO on the {strategy} binarization ({len(pairs[strategy]['train'])} pairs)")
        t0 = time.time()
        models[strategy] = str(
            train_strategy(
                base,
                pairs[strategy]["train"],
                run / "models" / strategy,
                recipe.dpo,
                recipe.seed,
                run / "metrics" / f"dpo_{strategy}.jsonl",
            )
        )
        timings[f"train_{strategy}_s"] = round(time.time() - t0, 1)

    evaluation: dict = {"preference": {}, "answers": {}}
    for test_name in recipe.strategies:
        test_pairs = pairs[test_name]["test"]
        if not test_pairs:
            continue
        ref = sequence_logps(
            base, test_pairs, recipe.eval_batch_size, recipe.dpo.max_length, f"base on {test_name}"
        )
        for name, path in models.items():
            pol = (
                ref
                if name == "base"
                else sequence_logps(
                    path, test_pairs, recipe.eval_batch_size, recipe.dpo.max_length, f"{name} on {test_name}"
                )
            )
            metrics = preference_metrics(pol, ref, recipe.dpo.beta)
            evaluation["preference"].setdefault(name, {})[test_name] = metrics
    for name, path in models.items():
        evaluation["answers"][name] = answer_prompts(path, recipe.eval_prompts, recipe.eval_max_new_tokens)
    timings["total_s"] = round(time.time() - started, 1)
    evaluation["timings"] = timings
    (run / "eval.json").write_text(json.dumps(evaluation, indent=2))

    report_md = write_report(run, asdict(recipe), stats, evaluation)
    print(_summary(stats, evaluation, recipe.strategies))
    print(f"report: {report_md}  (and {report_md.with_suffix('.html')})")
    return 0


def _summary(stats: dict, evaluation: dict, strategies: list[str]) -> str:
    lines = ["", "held-out preference accuracy (reward acc / log-prob acc):"]
    for name, by_test in evaluation["preference"].items():
        cells = [f"{t}: {m['reward_accuracy']:.2f} / {m['logp_accuracy']:.2f}" for t, m in by_test.items()]
        lines.append(f"  {name:8s} " + "   ".join(cells))
    lines.append(f"total time: {evaluation['timings']['total_s']} s")
    return "\n".join(lines)
