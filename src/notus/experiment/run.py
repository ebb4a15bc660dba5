"""`notus run`: the stages of the toolkit chained, once per strategy and seed, then statistics and a report.

    notus run                                              # the Notus experiment on the shipped sample, CPU
    notus run recipes/experiments/notus-7b-v1.yaml --check # validate every stage recipe, offline
    notus run recipes/notus_experiment.yaml seeds=[1] train.max_steps=4 --json

1. feedback (optional): `notus feedback run`'s `run_pipeline`; its rated rows feed the data stage;
2. data: `notus data curate`'s `curate_recipe`, once per strategy (same input, same held-out prompts:
   the split is by prompt hash);
3. train: `notus train METHOD`'s `train`, once per strategy and seed, on the curated train split;
4. eval: held-out preference accuracy of the base model and every trained model, tokenized and scored
   as training does (`notus eval preference`); `notus eval alpaca|mt-bench|harness` when configured;
5. statistics (`notus.eval.stats`) and the report (`notus.experiment.report`).
Every resolved stage recipe is saved in the run folder, next to `run.log`, `summary.json`, `report.md`
and `report.html`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from notus.core.config import save_recipe
from notus.core.errors import NotusError
from notus.core.runs import new_run_dir, read_jsonl, start_run
from notus.experiment.recipe import (
    JUDGED,
    ExperimentRecipe,
    check_stages,
    data_recipe,
    eval_args,
    feedback_recipe,
    load_experiment,
    train_recipe,
)


class _Tee:
    """Writes to a stream and to the run's log file (progress bars go to a terminal only)."""

    def __init__(self, stream: Any, log: Any):
        self.stream, self.log = stream, log

    def write(self, text: str) -> int:
        if "\r" not in text:  # a progress bar's redraw stays on the terminal, out of the log
            self.log.write(text)
            self.log.flush()
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


@contextlib.contextmanager
def logged(path: Path, as_json: bool):
    """stdout and stderr copied into `path`; with `--json`, human output goes to stderr only."""
    with open(path, "a", encoding="utf-8") as log:
        out, err = sys.stdout, sys.stderr
        sys.stdout = _Tee(err if as_json else out, log)
        sys.stderr = _Tee(err, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err


def main(recipe_path: str | None, overrides: list[str], check: bool = False, as_json: bool = False) -> int:
    recipe = load_experiment(recipe_path, overrides)  # fails fast, before any model loads
    checked = check_stages(recipe)
    if check:
        print(json.dumps(checked, indent=2, default=str))
        print(
            f"experiment recipe OK: {len(recipe.strategies)} strategies x {len(recipe.seeds)} seeds",
            file=sys.stderr,
        )
        return 0
    run = start_run(recipe.output_dir or new_run_dir("runs", "notus-experiment"), recipe)
    with logged(run / "run.log", as_json):
        summary = run_experiment(recipe, run, progress=sys.stderr.isatty())
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    return 0


def _step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.time()


def run_experiment(recipe: ExperimentRecipe, run: Path, progress: bool = False) -> dict[str, Any]:
    from notus.cli.data import curate_recipe
    from notus.experiment.report import summarize, write_report

    if not progress:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    started, timings = time.time(), {}
    print(f"notus run: writing to {run}")

    rated = None
    if recipe.feedback is not None:
        t0 = _step("feedback: generate and rate (notus feedback run)")
        from notus.feedback.pipeline import run_pipeline

        fb = feedback_recipe(recipe, str(run / "feedback"))
        run_pipeline(fb, progress=progress)
        rated = str(run / "feedback" / "rated.jsonl")
        timings["feedback"] = time.time() - t0

    t0 = _step("data: curate once per strategy (notus data curate)")
    splits: dict[str, dict[str, Path]] = {}
    data: dict[str, Any] = {}
    for strategy in recipe.strategies:
        curate = data_recipe(recipe, strategy, str(run / "data" / f"{strategy}.jsonl"), rated)
        (run / "data").mkdir(parents=True, exist_ok=True)
        save_recipe(curate, run / "data" / f"{strategy}.curate.yaml")
        splits[strategy] = curate_recipe(curate, progress=progress)
        sidecar = json.loads((run / "data" / f"{strategy}.curation.json").read_text(encoding="utf-8"))
        data[strategy] = {"input": curate.input, "splits": sidecar["splits"], "ledger": sidecar["ledger"]}
        if not sidecar["splits"].get("train"):
            why = ", ".join(f"{k}: {v}" for k, v in sidecar["ledger"].get("filtered", {}).items()) or "none"
            raise NotusError(
                f"strategy {strategy}: no training pairs after curation (rows filtered: {why}; see "
                f"{run / 'data' / (strategy + '.curation.json')}); give it more rated rows or drop it from strategies"
            )
    data["chosen_differs"] = _disagreement(curate.input, recipe.strategies)
    timings["data"] = time.time() - t0

    models: dict[str, dict[int, str]] = {}
    train: dict[str, Any] = {}
    first, shown = None, set()  # each recipe note is printed once, not once per model
    for strategy in recipe.strategies:
        for seed in recipe.seeds:
            t0 = _step(
                f"train: {recipe.method} on {strategy} pairs, seed {seed} (notus train {recipe.method})"
            )
            out = run / "models" / f"{strategy}-seed{seed}"
            tr = train_recipe(recipe, str(splits[strategy]["train"]), str(out), seed, progress)
            first = first or tr
            result = _train(tr, shown)
            models.setdefault(strategy, {})[seed] = result["output_dir"]
            losses = [m["loss"] for m in result["metrics"] if "loss" in m]
            train.setdefault(strategy, {})[seed] = {
                "output_dir": result["output_dir"],
                "steps": result["global_step"],
                "final_loss": losses[-1] if losses else None,
                "seconds": time.time() - t0,
            }
    timings["train"] = sum(t["seconds"] for by_seed in train.values() for t in by_seed.values())

    evaluation: dict[str, Any] = {}
    if recipe.eval.preference:
        t0 = _step("eval: held-out preference accuracy (notus eval preference)")
        evaluation = _preference(recipe, first, splits, models)
        (run / "eval").mkdir(exist_ok=True)  # every model's metrics and per-pair outcomes, per seed
        (run / "eval" / "preference.json").write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
        timings["eval_preference"] = time.time() - t0
    judged = _judged(recipe, run, models)
    if recipe.eval.head_to_head is not None:
        t0 = _step("eval: judged head-to-head on the held-out prompts (notus eval alpaca)")
        evaluation_h2h = _head_to_head(recipe, run, models, splits)
        judged["head_to_head"] = {**evaluation_h2h, "seconds": time.time() - t0}
    if judged:
        timings["eval_judged"] = sum(j["seconds"] for j in judged.values())
    timings["total"] = time.time() - started
    summary = summarize(recipe, run, data, train, evaluation, judged, timings)
    (run / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    paths = write_report(run, summary)
    print("\n" + "\n".join(summary["conclusion"]))
    print(f"report: {paths['markdown']} (and {paths['html']}); log: {run / 'run.log'}")
    return summary


def _train(recipe, shown: set[str]) -> dict[str, Any]:  # noqa: ANN001  (a TrainRecipe)
    """Exactly `notus train METHOD RECIPE --dataset FILE`: checks, notes (those not in `shown`), then
    `notus.train.run.train`."""
    from notus.cli.train import missing_data
    from notus.train.run import train

    missing_data(recipe)
    if recipe.backend == "notus":
        from notus.train.loop import backend_notes

        recipe.notes.extend(backend_notes(recipe))
    for note in recipe.notes:
        if note not in shown:
            shown.add(note)
            print(f"notus: note: {note}", file=sys.stderr)
    return train(recipe)


def _disagreement(path: str, strategies: list[str]) -> dict[str, Any] | None:
    """How often the first two strategies choose a different response (`notus data report`'s count)."""
    if len(strategies) < 2:
        return None
    from notus.data.pipeline import load, validated
    from notus.data.report import disagreement

    loaded = load(path)
    if loaded.kind != "rated":
        return None
    records, _ = validated(loaded)
    return disagreement([r.row for r in records], strategies[0], strategies[1])


def _preference(recipe: ExperimentRecipe, tr, splits: dict, models: dict) -> dict[str, Any]:  # noqa: ANN001
    """Every model once over every strategy's held-out pairs, with training's tokenization."""
    from notus.eval.preference import pair_counts, pair_logps, pair_tokens, preference_metrics
    from notus.train.losses import PairLogps

    base = tr.model_name_or_path
    reference = tr.ref_model_name_or_path or base
    beta = getattr(tr, "beta", 0.1)
    tests, tokens = {}, []
    for strategy, paths in splits.items():
        rows = read_jsonl(paths["test"]) if "test" in paths and Path(paths["test"]).is_file() else []
        rows = rows[: recipe.eval.max_pairs] if recipe.eval.max_pairs else rows
        if rows:
            toks = pair_tokens(base, rows, tr.max_length, getattr(tr, "max_prompt_length", None))
            tests[strategy] = slice(len(tokens), len(tokens) + len(toks))
            tokens += toks
    if not tokens:
        print("no held-out pairs: preference accuracy skipped (raise the data stage's test_size)")
        return {}
    ref = pair_logps(reference, tokens)
    chosen_n, rejected_n = pair_counts(tokens)
    scored = {"base": {0: pair_logps(base, tokens) if base != reference else ref}}
    for strategy, by_seed in models.items():
        scored[strategy] = {seed: pair_logps(path, tokens) for seed, path in by_seed.items()}
    out: dict[str, Any] = {}
    for test, at in tests.items():
        out[test] = {}
        for name, by_seed in scored.items():
            for seed, logps in by_seed.items():
                lp = PairLogps(
                    logps[at, 0], logps[at, 1], ref[at, 0], ref[at, 1], chosen_n[at], rejected_n[at]
                )
                out[test].setdefault(name, {})[seed] = preference_metrics(lp, beta)
    return out


def _judged(recipe: ExperimentRecipe, run: Path, models: dict) -> dict[str, Any]:
    """`notus eval alpaca|mt-bench|harness` on every trained model, with the recipe's options."""
    import importlib

    done = {}
    modules = {"alpaca": "eval_alpaca", "mt-bench": "eval_mt_bench", "harness": "eval_harness"}
    for block, command in JUDGED.items():
        options = getattr(recipe.eval, block)
        if options is None:
            continue
        for strategy, by_seed in models.items():
            for seed, path in by_seed.items():
                t0 = _step(f"eval: notus eval {command} on {strategy} seed {seed}")
                output = run / "eval" / block / f"{strategy}-seed{seed}"
                args = eval_args(command, options, path, str(output))
                importlib.import_module(f"notus.cli.{modules[command]}").main(args)
                done[f"{block}/{strategy}-seed{seed}"] = {"output": str(output), "seconds": time.time() - t0}
    return done


def _head_to_head(recipe: ExperimentRecipe, run: Path, models: dict, splits: dict) -> dict[str, Any]:
    """AlpacaEval-style win rate of the first strategy's model against the second's (same seed) on the
    held-out prompts: `notus eval alpaca`'s generation for the second model's outputs (the reference),
    then `notus eval alpaca --model FIRST --reference SECOND_OUTPUTS` judges and counts."""
    from notus.cli.eval_alpaca import main as alpaca
    from notus.eval.alpaca_run import generate_outputs

    a, b = recipe.strategies[:2]
    folder = run / "eval" / "head_to_head"
    folder.mkdir(parents=True, exist_ok=True)
    rows = read_jsonl(splits[a]["test"])[: recipe.eval.max_pairs] if "test" in splits[a] else []
    prompts = list(dict.fromkeys(r["prompt"][-1]["content"] for r in rows))
    instructions = folder / "instructions.json"
    instructions.write_text(
        json.dumps([{"instruction": p, "dataset": "held-out"} for p in prompts], indent=2)
    )
    options = dict(recipe.eval.head_to_head)
    max_new = int(options.get("max_new_tokens", 2048))
    per_seed = {}
    for seed in recipe.seeds:
        reference = folder / f"{b}-seed{seed}_outputs.json"
        outputs = generate_outputs(models[b][seed], [{"instruction": p} for p in prompts], max_new)
        reference.write_text(json.dumps(outputs, indent=2), encoding="utf-8")
        output = folder / f"{a}-vs-{b}-seed{seed}"
        args = eval_args("alpaca", {**options, "instructions": str(instructions), "reference": str(reference)},
                         models[a][seed], str(output), "head_to_head")  # fmt: skip
        alpaca(args)
        row = next(iter(json.loads((output / "leaderboard.json").read_text(encoding="utf-8")).values()))
        per_seed[seed] = {
            k: row.get(k) for k in ("win_rate", "n_wins", "n_wins_base", "n_draws", "n_total", "n_unparsed")
        }
    return {
        "a": a,
        "b": b,
        "judge": options.get("judge_model"),
        "prompts": len(prompts),
        "per_seed": per_seed,
    }
