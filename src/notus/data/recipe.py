"""A typed curation recipe: the whole `notus data binarize` run as YAML, checked before any work.

    notus data curate RECIPE.yaml [key=value ...]        # e.g. strategy=aspect:honesty test_size=0.1

Example (docs/data.md has more):

    input: ../shared/data/ultrafeedback/uf_critique_100.jsonl
    output: out/critique_pairs.jsonl
    strategy: zephyr
    rejected: all
    against: [../shared/data/benchmarks/truthfulqa]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notus.core.errors import NotusError
from notus.data import numbers


@dataclass
class CurateRecipe:
    input: str  # file, datasets folder or Hub id
    output: str  # .jsonl / .json / .parquet / .csv / folder
    format: str | None = None  # forced input format (see `notus data inspect`)
    split: str | None = None
    strategy: str = "notus"  # notus | zephyr | aspect:NAME | weighted:A=W,...
    rejected: Literal["random", "lowest", "all"] = "random"
    top_tie: Literal["first", "random", "drop"] = "first"
    allow_equal: bool | None = None
    min_margin: float = 0.0
    seed: int = 42
    near_dup: float | None = 0.8
    dedup: bool = True
    drop_bad_responses: bool = True
    score_bug: Literal["flag", "drop"] = "flag"
    drop_ties: bool = False
    against: list[str] = field(default_factory=list)
    test_size: float = 0.0
    push_to_hub: str | None = None
    rejects: str | None = None

    def check(self) -> list[str]:
        from notus.data.formats import FORMATS
        from notus.data.strategies import parse_strategy

        problems = []
        try:
            parse_strategy(self.strategy)  # min_margin is checked below
        except NotusError as exc:
            problems.append(f"strategy: {exc}")
        if self.format is not None and self.format not in FORMATS:
            problems.append(f"format: unknown {self.format!r}; choose one of {', '.join(FORMATS.names())}")
        return problems + numbers.problems(
            numbers.in_range("test_size", self.test_size, 0, 1, high_open=True),
            numbers.in_range("min_margin", self.min_margin, 0),
            None
            if self.near_dup is None
            else numbers.in_range("near_dup", self.near_dup, 0, 1, low_open=True),
        )
