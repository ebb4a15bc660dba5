"""Errors that say what went wrong, why, and how to fix it."""


class NotusError(Exception):
    """Base class: the message is meant for the user, shown without a traceback by the CLI."""


class RecipeError(NotusError):
    """A recipe (YAML + overrides) has one or more problems; all of them are listed."""

    def __init__(self, problems: list[str], source: str = "recipe"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} has {len(problems)} problem(s):\n{lines}")


class ModelNotFoundError(NotusError):
    """A model reference could not be resolved to weights."""


class DataError(NotusError):
    """Input data cannot be used; the message names file, line and field."""
