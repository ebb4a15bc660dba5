"""`notus run [RECIPE] [key=value ...]`: run a whole experiment; default = the Notus experiment."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recipe", nargs="?", default=None, help="experiment recipe YAML (default: the Notus experiment)"
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. dpo.max_steps=5")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from notus.experiment import main

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe and "=" in recipe and not recipe.endswith((".yaml", ".yml")):
        recipe, overrides = None, [recipe, *overrides]
    return main(recipe, overrides)
