"""`notus train sft|dpo|kto|orpo RECIPE [key=value ...]`: train from a recipe, overrides on the command line.

notus train dpo recipes/train/cpu/dpo.yaml max_steps=20 output_dir=runs/dpo
notus train sft recipes/train/cpu/sft.yaml
torchrun --nproc_per_node 2 -m notus train dpo recipes/train/cpu/dpo.yaml      # 2 processes (gloo)
notus train dpo --check recipes/train/notus-7b-v1/dpo-full.yaml                 # validate only
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
        p.set_defaults(func=run, method=name)


def run(args: argparse.Namespace) -> int:
    from notus.core.config import load_recipe, recipe_to_dict
    from notus.train.recipes import DPORecipe, SFTRecipe

    cls = SFTRecipe if args.method == "sft" else DPORecipe
    overrides = list(args.overrides)
    recipe_path = args.recipe
    if recipe_path and "=" in recipe_path and not recipe_path.endswith((".yaml", ".yml")):
        overrides.insert(0, recipe_path)
        recipe_path = None
    recipe = load_recipe(cls, recipe_path, overrides)
    if args.check:
        print(json.dumps(recipe_to_dict(recipe), indent=2))
        return 0
    if args.method == "sft":
        from notus.train.sft import train_sft

        result = train_sft(recipe)
    elif args.method == "dpo":
        from notus.train.dpo import train_dpo

        result = train_dpo(recipe)
    else:
        from notus.train.trl_backend import train_unpaired

        result = train_unpaired(args.method, recipe)
    last = result["metrics"][-1] if result["metrics"] else {}
    shown = {k: round(v, 4) for k, v in last.items() if isinstance(v, float)}
    print(
        f"trained {args.method} for {result['global_step']} steps in {result['train_runtime']:.1f}s: {shown}"
    )
    print(f"model, metrics.jsonl, metrics.png and README.md (model card) in {result['output_dir']}")
    return 0
