"""Typed recipes: every problem is reported together, overrides are typed, the result round-trips."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from notus.core.config import file_field, load_recipe, save_recipe
from notus.core.errors import RecipeError


@dataclass
class Inner:
    beta: float = 0.1
    loss: Literal["sigmoid", "ipo"] = "sigmoid"


@dataclass
class Recipe:
    model: str = "smollm2-135m-instruct"
    data: str = file_field()
    steps: int = 3
    tags: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)


def test_overrides_are_typed_and_nested(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("steps: 4\ninner:\n  loss: ipo\n")
    recipe = load_recipe(Recipe, path, ["inner.beta=5e-7", "tags=[a, b]"])
    assert recipe.steps == 4
    assert recipe.inner == Inner(beta=5e-7, loss="ipo")
    assert recipe.tags == ["a", "b"]


def test_all_problems_reported_together(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stepz: 4\nsteps: many\ndata: /no/such/file.jsonl\ninner:\n  loss: hinge\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(Recipe, path)
    text = str(info.value)
    assert len(info.value.problems) == 4
    assert "stepz: unknown key; did you mean 'steps'?" in text
    assert "steps: expected an integer" in text
    assert "/no/such/file.jsonl" in text and "does not exist" in text
    assert "inner.loss: 'hinge' is not one of" in text


def test_resolved_recipe_round_trips(tmp_path):
    recipe = load_recipe(Recipe, None, ["steps=7"])
    save_recipe(recipe, tmp_path / "recipe.yaml")
    assert load_recipe(Recipe, tmp_path / "recipe.yaml") == recipe


def test_bad_override_syntax():
    with pytest.raises(RecipeError, match="not key=value"):
        load_recipe(Recipe, None, ["steps"])


def test_a_repeated_key_is_an_error_naming_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("steps: 4\nmodel: x\nsteps: 5\n")
    with pytest.raises(RecipeError, match=r"line 3: key 'steps' appears twice \(first on line 1\)"):
        load_recipe(Recipe, path)


def test_an_alias_bomb_fails_fast(tmp_path):
    import time

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\ntags: *a11\n")
    start = time.perf_counter()
    with pytest.raises(RecipeError, match="aliases"):
        load_recipe(Recipe, path)
    assert time.perf_counter() - start < 1.0


def test_a_recipe_that_is_not_utf8_is_one_clear_problem(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("model: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RecipeError, match="not UTF-8"):
        load_recipe(Recipe, path)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(RecipeError, match="not a finite number"):
        load_recipe(Recipe, None, [f"inner.beta={value}"])
