"""`notus run [RECIPE] [key=value ...] [--check] [--json]`: an experiment = the stages chained.

notus run                                                  # the Notus experiment on the shipped sample, CPU
notus run recipes/experiments/notus-7b-v1.yaml --check     # validate every stage recipe, offline
notus run recipes/notus_experiment.yaml seeds=[1] --json   # the summary as JSON on stdout
"""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recipe", nargs="?", default=None, help="experiment recipe YAML (default: the Notus experiment)"
    )
    parser.add_argument(
        "overrides", nargs="*", help="key=value overrides, e.g. seeds=[1,2] train.max_steps=4"
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the recipe and every stage, run nothing"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON (other output to stderr)"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from notus.experiment.run import main

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe and "=" in recipe and not recipe.endswith((".yaml", ".yml")):
        recipe, overrides = None, [recipe, *overrides]
    return main(recipe, overrides, check=args.check, as_json=args.json)
