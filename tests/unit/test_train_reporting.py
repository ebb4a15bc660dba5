"""report_to: every logging step reaches W&B / MLflow with its step, runs are closed at the end, and a
sink that is not installed is a clear error before training. The two clients are stand-ins recording
calls (neither package is installed here); the calls asserted are their documented APIs."""

from __future__ import annotations

import sys
import types

import pytest

from notus.core.errors import NotusError
from notus.core.runs import read_jsonl
from notus.train.loop import Reporter, Runtime
from notus.train.recipes import train_recipe


def fake_module(name: str, calls: list, functions: list[str]) -> types.ModuleType:
    module = types.ModuleType(name)
    for fn in functions:
        setattr(module, fn, lambda *a, _fn=fn, **kw: calls.append((name, _fn, a, kw)))
    return module


def test_wandb_and_mlflow_receive_every_record_and_are_closed(tmp_path, monkeypatch):
    calls: list = []
    recipe = train_recipe(
        "dpo", backend="notus", output_dir=str(tmp_path), report_to=["jsonl", "wandb", "mlflow"]
    )
    monkeypatch.setitem(sys.modules, "wandb", fake_module("wandb", calls, ["init", "log", "finish"]))
    mlflow = fake_module("mlflow", calls, ["start_run", "log_params", "log_metrics", "end_run"])
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    reporter = Reporter(recipe, tmp_path, Runtime(), {"method": "dpo", "pairs": 12})
    reporter.log({"step": 1, "loss": 0.69, "note": "text is not a scalar"})
    reporter.log({"step": 2, "loss": 0.5})
    reporter.close()
    by = [(m, f) for m, f, _, _ in calls]
    assert by == [
        ("wandb", "init"),
        ("mlflow", "start_run"),
        ("mlflow", "log_params"),
        ("wandb", "log"),
        ("mlflow", "log_metrics"),
        ("wandb", "log"),
        ("mlflow", "log_metrics"),
        ("wandb", "finish"),
        ("mlflow", "end_run"),
    ]
    logged = [(a[0], kw["step"]) for m, f, a, kw in calls if f in ("log", "log_metrics")]
    assert logged == [({"loss": 0.69}, 1), ({"loss": 0.69}, 1), ({"loss": 0.5}, 2), ({"loss": 0.5}, 2)]
    assert calls[0][3]["config"] == {"method": "dpo", "pairs": 12}
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1, 2]


def test_missing_sink_is_a_clear_error(tmp_path, monkeypatch):
    recipe = train_recipe("dpo", backend="notus", output_dir=str(tmp_path), report_to=["wandb"])
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(NotusError, match=r"report_to: 'wandb' is not installed; `pip install wandb`"):
        Reporter(recipe, tmp_path, Runtime(), {})
