"""The shipped experiment recipe is valid and is exactly the default of `notus run`; the split and the
strategy comparison behave as documented on the shipped sample."""

import json
from pathlib import Path

from notus.core.config import load_recipe
from notus.experiment import ExperimentRecipe, chosen_agreement, load_raw_rows, split_rows

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_recipe_is_the_default():
    assert load_recipe(ExperimentRecipe, ROOT / "recipes" / "notus_experiment.yaml") == ExperimentRecipe()


def test_split_is_deterministic_and_disjoint():
    rows, source = load_raw_rows("")
    assert len(rows) == 72 and "ultrafeedback_mini" in source
    train, test = split_rows(rows, 0.2, seed=42)
    again, _ = split_rows(rows, 0.2, seed=42)
    assert train == again and len(test) == 14 and len(train) == 58
    assert not {r["instruction"] for r in train} & {r["instruction"] for r in test}


def test_chosen_differs_in_about_half_of_the_sample():
    rows, _ = load_raw_rows("")
    d = chosen_agreement(rows, "zephyr", "notus", seed=42)
    assert d["rows_both_kept"] == 69  # 3 all-tie rows are dropped by the notus strategy
    assert d["chosen_differs"] == 34


def test_bad_rows_name_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    good = json.dumps({"instruction": "x", "completions": [{"response": "a"}]})
    path.write_text(good + "\n{not json\n")
    try:
        load_raw_rows(str(path))
    except Exception as exc:  # noqa: BLE001
        assert f"{path}:2: not valid JSON" in str(exc)
    else:
        raise AssertionError("a broken line must stop the run")
