"""`notus train sft|dpo|kto|orpo RECIPE [key=value ...]`: train from a recipe, overrides on the command line.

notus train dpo recipes/train/cpu/dpo.yaml max_steps=20 output_dir=runs/dpo
notus train sft recipes/train/cpu/sft.yaml
torchrun --nproc_per_node 2 -m notus train dpo recipes/train/cpu/dpo.yaml      # 2 processes (gloo)
notus train dpo --check recipes/train/notus-7b-v1/dpo-full.yaml                 # validate only
notus train dpo recipes/train/notus-7b-v1/dpo-full.yaml --dataset pairs.jsonl \\
    model_name_or_path=smollm2-135m-instruct max_steps=2 report_to=[]           # smoke-test a GPU recipe on CPU

Recipes are TRL/alignment-handbook YAML files as published (see notus.train.recipes).
"""

from __future__ import annotations

import argparse
import json

METHODS = {
    "sft": "supervised fine-tuning on conversations (assistant tokens only, packing)",
    "dpo": "DPO and variants (sigmoid, ipo, robust, hinge, simpo, rpo) with cached reference log-probs",
    "kto": "KTO on unpaired or paired data (TRL's KTOTrainer)",
    "orpo": "ORPO, reference-free (TRL's ORPOTrainer)",
}


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in METHODS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("recipe", nargs="?", help="YAML recipe (see recipes/train/)")
        p.add_argument(
            "overrides", nargs="*", help="key=value overrides, e.g. beta=0.05 dataset_mixture.seed=1"
        )
        p.add_argument("--check", action="store_true", help="validate the recipe and exit")
        p.add_argument(
            "--dataset",
            metavar="PATH",
            help="train on this local file (any format `notus data` reads) instead of the recipe's datasets",
        )
        p.set_defaults(func=run, method=name)
    p = sub.add_parser(
        "card",
        help="rebuild a run folder's model card (README.md), e.g. after `notus eval harness --output RUN/eval/harness`",
    )
    p.add_argument("run", help="a run folder written by `notus train`")
    p.set_defaults(func=card)


def missing_data(recipe) -> None:
    """Local dataset paths that do not exist are errors before any work (never sent to the Hub)."""
    from pathlib import Path

    from notus.core.errors import RecipeError
    from notus.train.data import looks_local

    specs = recipe.datasets + recipe.data.dataset_mixture.eval_datasets
    problems = [
        f"dataset {spec.id!r}: no such file or folder (relative to {Path.cwd()})"
        for spec in specs
        if looks_local(spec.id) and not Path(spec.id).expanduser().exists()
    ]
    if problems:
        raise RecipeError(problems, "datasets")


def run(args: argparse.Namespace) -> int:
    import sys

    from notus.train.recipes import load_train_recipe

    overrides = list(args.overrides)
    recipe_path = args.recipe
    if recipe_path and "=" in recipe_path and not recipe_path.endswith((".yaml", ".yml")):
        overrides.insert(0, recipe_path)
        recipe_path = None
    recipe = load_train_recipe(args.method, recipe_path, overrides, args.dataset)
    missing_data(recipe)
    if recipe.backend == "notus":
        from notus.train.loop import backend_notes

        recipe.notes.extend(backend_notes(recipe))
    for note in recipe.notes:
        print(f"notus: note: {note}", file=sys.stderr)
    if args.check:
        summary = {
            "method": args.method,
            "backend": recipe.backend,
            "model_name_or_path": recipe.model_name_or_path,
            "datasets": [spec.id for spec in recipe.datasets],
            "output_dir": recipe.output_dir,
            "keys": recipe.keys,
        }
        print(json.dumps(summary, indent=2, default=str))
        print(f"recipe OK ({len(recipe.keys)} keys, {len(recipe.notes)} notes)", file=sys.stderr)
        return 0
    from notus.train.run import train

    result = train(recipe)
    last = result["metrics"][-1] if result["metrics"] else {}
    shown = {k: round(v, 4) for k, v in last.items() if isinstance(v, float)}
    print(
        f"trained {args.method} for {result['global_step']} steps in {result['train_runtime']:.1f}s: {shown}"
    )
    print(f"model, metrics.jsonl, metrics.png and README.md (model card) in {result['output_dir']}")
    return 0


def card(args: argparse.Namespace) -> int:
    """The card again from the run folder alone: recipe.yaml, lineage.json, metrics, eval results."""
    from pathlib import Path

    from notus.core.config import read_yaml
    from notus.core.errors import NotusError
    from notus.core.runs import read_jsonl
    from notus.train.export import model_card
    from notus.train.recipes import build_train_recipe

    out = Path(args.run)
    needed = [out / name for name in ("recipe.yaml", "lineage.json", "train_results.json")]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise NotusError(f"{out}: not a notus run folder (no {', '.join(missing)})")
    lineage = json.loads((out / "lineage.json").read_text(encoding="utf-8"))
    results = json.loads((out / "train_results.json").read_text(encoding="utf-8"))
    recipe = build_train_recipe(lineage["method"], read_yaml(out / "recipe.yaml"), str(out / "recipe.yaml"))
    metrics = read_jsonl(out / "metrics.jsonl") if (out / "metrics.jsonl").is_file() else []
    world = int(results.get("world_size", 1))
    path = model_card(recipe, out, metrics, results.get("data_summary"), results.get("eval_metrics"), world)
    print(f"model card: {path}")
    return 0
