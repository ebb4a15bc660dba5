"""`notus data` end to end as a user runs it (subprocess), plus splits and output types."""

import json
import subprocess
import sys
from pathlib import Path

from datasets import load_from_disk

from notus.cli.main import main
from notus.core.runs import read_jsonl

FIXTURES = Path(__file__).parents[1] / "fixtures" / "data"


def test_binarize_subprocess_with_split_and_rejects(tmp_path):
    src = tmp_path / "raw.jsonl"
    rows = read_jsonl(FIXTURES / "raw_hand.jsonl")
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    out = tmp_path / "pairs.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "notus",
            "data",
            "binarize",
            str(src),
            "--strategy",
            "zephyr",
            "--rejected",
            "all",
            "--test-size",
            "0.5",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "rows in 7 = rows out 6 + filtered 0 (none) + quarantined 1" in proc.stdout
    train, test = read_jsonl(tmp_path / "pairs_train.jsonl"), read_jsonl(tmp_path / "pairs_test.jsonl")
    assert len(train) + len(test) == 14  # hand-computed: 4 rows x 3 + 2 rows x 1
    assert not {json.dumps(p["prompt"]) for p in train} & {json.dumps(p["prompt"]) for p in test}
    rejects = read_jsonl(tmp_path / "pairs.rejects.jsonl")
    assert (
        rejects[0]["line"] == 7
        and rejects[0]["field"] == "<line>"
        and "not valid JSON" in rejects[0]["reason"]
    )
    curation = json.loads((tmp_path / "pairs.curation.json").read_text())  # for the model card
    assert curation["ledger"]["rows_in"] == 7 and curation["ledger"]["quarantined"] == 1
    assert curation["splits"] == {"train": len(train), "test": len(test)}


def test_folder_output_with_splits_and_inspect(tmp_path, capsys):
    out = tmp_path / "pairs_ds"
    assert (
        main(
            [
                "data",
                "binarize",
                str(FIXTURES / "raw_hand.jsonl"),
                "--rejected",
                "all",
                "--test-size",
                "0.3",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    ds = load_from_disk(str(out))
    assert set(ds) == {"train", "test"} and len(ds["train"]) + len(ds["test"]) == 8
    assert ds["train"][0]["chosen"][0]["role"] == "assistant"
    capsys.readouterr()
    assert main(["data", "inspect", str(out)]) == 0
    assert "format trl_pairs (pairs)" in capsys.readouterr().out


def test_unknown_strategy_is_a_clear_error(capsys):
    assert (
        main(["data", "binarize", str(FIXTURES / "raw_hand.jsonl"), "--strategy", "best", "-o", "x.jsonl"])
        == 2
    )
    assert (
        "unknown binarization strategy 'best'; choose one of: aspect, notus, weighted, zephyr"
        in capsys.readouterr().err
    )


def test_score_bug_drop(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert (
        main(
            [
                "data",
                "binarize",
                str(FIXTURES / "raw_hand.jsonl"),
                "--strategy",
                "zephyr",
                "--score-bug",
                "drop",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "overall_score contradicts aspect ratings: 1" in capsys.readouterr().out
    assert "Row 2" not in out.read_text()


RECIPE = FIXTURES / "recipes" / "critique_zephyr.yaml"


def test_curate_recipe(shared_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parents[2])  # recipe paths are relative to the repo root
    out = tmp_path / "crit.jsonl"
    assert main(["data", "curate", str(RECIPE), f"output={out}"]) == 0
    text = capsys.readouterr().out
    assert "rows in 25 = rows out 25" in text and "100 input rows were grouped into 25 prompts" in text
    pairs = read_jsonl(tmp_path / "crit_train.jsonl") + read_jsonl(tmp_path / "crit_test.jsonl")
    assert {p["strategy"] for p in pairs} == {"zephyr"} and len(
        pairs
    ) > 25  # rejected=all: several per prompt


def test_curate_recipe_problems_reported_together(capsys):
    assert main(["data", "curate", str(RECIPE), "rejected=worst", "colour=red"]) == 2
    err = capsys.readouterr().err
    assert "'worst' is not one of" in err and "colour: unknown key" in err
    assert (
        main(["data", "curate", str(RECIPE), "strategy=best", "test_size=2"]) == 2
    )  # the recipe's own checks
    err = capsys.readouterr().err
    assert "unknown binarization strategy 'best'" in err and "test_size 2.0: must be" in err


def test_benchmark_script_runs_small(tmp_path):
    """Smoke test only (speed is measured by running the benchmark, not by tests)."""
    script = Path(__file__).parents[2] / "benchmarks" / "bench_binarize.py"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--rows",
            "400",
            "--large",
            "1200",
            "--rounds",
            "1",
            "--folder",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio binarize-only / notus per round:" in proc.stdout
    assert "ratio same work / notus per round:" in proc.stdout
    assert "the same pairs (prompt, chosen, rejected, score_bug): True" in proc.stdout
    assert "curated in 7 parts == as one part: True" in proc.stdout
    assert "rows in 400 = rows out" in proc.stdout and "rows in 1200 = rows out" in proc.stdout
    assert "scaling 400 -> 1200 rows" in proc.stdout


def test_hub_id_offline_is_a_clear_error():
    import os

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "notus", "data", "inspect", "someorg/not-a-dataset"],
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "someorg/not-a-dataset: could not load from the Hugging Face Hub" in proc.stderr


def test_curate_in_parts_gives_what_one_part_gives(tmp_path):
    """The hand fixture read 2 rows at a time, with a repaired row, a quarantined row and an exact
    duplicate added, gives the pairs, ledger and rejects of reading it whole."""
    from notus.data.pipeline import CurateOptions, curate, curate_file, load

    rows = [json.loads(line) for line in (FIXTURES / "raw_hand.jsonl").read_text().splitlines()]
    rows.append({**rows[0]})  # exact duplicate prompt, in a later part
    bad = json.loads(json.dumps(rows[1]))
    bad["instruction"] = "Row 8: a rating of 7"
    bad["completions"][0]["annotations"]["honesty"]["Rating"] = "7"
    fixed = json.loads(json.dumps(rows[2]))
    fixed["instruction"] = "Row 9: a rating written as a number"
    fixed["completions"][1]["annotations"]["honesty"]["Rating"] = 4
    path = tmp_path / "raw.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*rows, bad, fixed]))
    whole = curate(load(str(path)), CurateOptions(strategy="zephyr", seed=3))
    curation, parts = curate_file(str(path), opts=CurateOptions(strategy="zephyr", seed=3), size=2)
    streamed = list(parts)
    result = curation.finish(len(streamed))
    assert streamed == whole.rows and result.ledger.as_dict() == whole.ledger.as_dict()
    assert [(r["line"], r["field"]) for r in result.rejects] == [
        (8, "completions[0].annotations.honesty.Rating")
    ]
    ledger = result.ledger.as_dict()
    assert (
        ledger["rows_in"] == 9 and ledger["quarantined"] == 1 and ledger["filtered"]["duplicate prompt"] == 1
    )
    assert ledger["repairs"] == {"rating written as number/padded text -> '1'..'5'": 1}
