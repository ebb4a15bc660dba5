"""lm-evaluation-harness with the Open LLM Leaderboard v1 settings, on the Hub or on local files.

    notus eval harness --model smollm2-135m-instruct --tasks leaderboard --offline-data ../shared/data/benchmarks --limit 5

Leaderboard v1 (`LEADERBOARD_V1`): ARC-Challenge 25-shot acc_norm, HellaSwag 10-shot acc_norm, MMLU
5-shot acc, TruthfulQA 0-shot mc2, Winogrande 5-shot acc, GSM8K 5-shot exact match (strict); the
leaderboard score is the mean of the six (in %). Online, lm-eval's own Hub tasks run. Offline
(`--offline-data DIR`), notus' task YAMLs (package `notus.eval.harness_tasks`) are written to
`OUTPUT/tasks/` with DIR filled in and loaded with lm-eval's `include_path`; a task without local
data (Winogrande) is reported as skipped. Local models run with lm-eval's `hf` model; a served model
(`--base-url`) with `local-chat-completions`, which can only score generation tasks (GSM8K).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from notus.core.errors import DataError, NotusError
from notus.eval.files import read_json


@dataclass(frozen=True)
class LeaderboardTask:
    name: str  # lm-eval Hub task
    offline: str | None  # notus offline task (None: no local data)
    shots: int
    metric: str  # key in lm-eval's results, e.g. "acc_norm,none"
    generative: bool = False


LEADERBOARD_V1 = [
    LeaderboardTask("arc_challenge", "notus_arc_challenge", 25, "acc_norm,none"),
    LeaderboardTask("hellaswag", "notus_hellaswag", 10, "acc_norm,none"),
    LeaderboardTask("mmlu", "notus_mmlu", 5, "acc,none"),
    LeaderboardTask("truthfulqa_mc2", "notus_truthfulqa_mc2", 0, "acc,none"),
    LeaderboardTask("winogrande", None, 5, "acc,none"),
    LeaderboardTask("gsm8k", "notus_gsm8k", 5, "exact_match,strict-match", generative=True),
]
BY_NAME = {t.name: t for t in LEADERBOARD_V1}
# metric keys in the published Notus 7B v1 result files (an older lm-eval named the GSM8K filter differently)
REFERENCE_KEYS = {"gsm8k": "exact_match,get-answer"}


def write_offline_tasks(data_dir: str | Path, out_dir: Path) -> Path:
    """Copy notus' task YAMLs + utils.py into out_dir with the data folder filled in; MMLU per subject."""
    data = Path(data_dir).resolve()
    if not (data / "mmlu" / "test").is_dir():
        raise NotusError(
            f"--offline-data {data_dir}: expected benchmark folders arc/, hellaswag/, mmlu/, ..."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    package = resources.files("notus.eval.harness_tasks")
    shutil.copyfile(str(package.joinpath("utils.py")), out_dir / "utils.py")
    for item in package.iterdir():
        if item.name.startswith("notus_") and item.name.endswith(".yaml"):
            (out_dir / item.name).write_text(item.read_text().replace("__DATA__", str(data)))
    template = package.joinpath("_notus_mmlu_template.yaml").read_text().replace("__DATA__", str(data))
    subjects = sorted(p.name.removesuffix("_test.csv") for p in (data / "mmlu" / "test").glob("*_test.csv"))
    for subject in subjects:
        text = template.replace("__SUBJECT_WORDS__", subject.replace("_", " ")).replace(
            "__SUBJECT__", subject
        )
        (out_dir / f"notus_mmlu_{subject}.yaml").write_text(text)
    group = ["group: notus_mmlu", "task:", *[f"  - notus_mmlu_{s}" for s in subjects]]
    group += [
        "aggregate_metric_list:",
        "  - metric: acc",
        "    weight_by_size: true",
        "metadata:",
        "  version: 1",
    ]
    (out_dir / "notus_mmlu.yaml").write_text("\n".join(group) + "\n")
    return out_dir


def resolve_tasks(spec: str) -> list[str]:
    names = (
        [t.name for t in LEADERBOARD_V1] if spec == "leaderboard" else [s.strip() for s in spec.split(",")]
    )
    return [n for n in names if n]


def run_harness(
    model: str,
    tasks: list[str],
    output: Path,
    offline_data: str | None = None,
    base_url: str | None = None,
    limit: int | None = None,
    num_fewshot: int | None = None,
    batch_size: int = 4,
) -> dict[str, Any]:
    """Run the tasks (grouped by few-shot count) and return {task: {metric, value, shots}} + skipped."""
    if base_url:
        lm_name = "local-chat-completions"
        lm_args = f"model={model},base_url={base_url.rstrip('/')}/chat/completions,num_concurrent=4"
    else:
        from notus.llm.models import resolve_model

        lm_name, lm_args = "hf", f"pretrained={resolve_model(model)},dtype=float32"
    include = str(write_offline_tasks(offline_data, output / "tasks")) if offline_data else None
    import lm_eval  # after the cheap checks above: a typo fails in milliseconds
    import torch
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include) if include else TaskManager()
    plan: dict[int | None, list[tuple[str, str, str]]] = {}
    skipped: dict[str, str] = {}
    for name in tasks:
        spec = BY_NAME.get(name)
        if spec is None:  # any other lm-eval task (or a notus_mmlu_<subject>), as given
            plan.setdefault(num_fewshot, []).append((name, name, "acc,none"))
            continue
        if base_url and not spec.generative:
            skipped[name] = "a chat-completions endpoint gives no log-likelihoods (use a local model)"
            continue
        run_name = spec.offline if offline_data else spec.name
        if run_name is None:
            skipped[name] = "no local data for this task (runs from the Hub when online)"
            continue
        shots = spec.shots if num_fewshot is None else num_fewshot
        plan.setdefault(None if offline_data and num_fewshot is None else shots, []).append(
            (name, run_name, spec.metric)
        )
    results: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for shots, group in plan.items():
        out = lm_eval.simple_evaluate(
            model=lm_name,
            model_args=lm_args,
            tasks=[run_name for _, run_name, _ in group],
            num_fewshot=shots,
            limit=limit,
            batch_size=batch_size,
            device=None if base_url else ("cuda" if torch.cuda.is_available() else "cpu"),
            task_manager=manager,
            apply_chat_template=bool(base_url),
            log_samples=False,
        )
        raw.update(out["results"])
        for name, run_name, metric in group:
            value = out["results"].get(run_name, {}).get(metric)
            n_shot = out.get("n-shot", {}).get(run_name, shots)
            results[name] = {"task": run_name, "metric": metric, "value": value, "shots": n_shot}
    scores = [r["value"] for n, r in results.items() if n in BY_NAME and r["value"] is not None]
    complete = len(scores) == len(LEADERBOARD_V1)
    summary = {
        "model": model,
        "limit": limit,
        "offline_data": offline_data,
        "results": results,
        "skipped": skipped,
        "leaderboard_average": 100 * sum(scores) / len(scores) if scores else None,
        "average_is_complete": complete,
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (output / "lm_eval_results.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
    return summary


def reference_scores(folder: str | Path) -> dict[str, float]:
    """Leaderboard metrics from a folder of lm-eval result JSONs (e.g. reference_results/notus-7b-v1)."""
    found: dict[str, float] = {}
    for path in sorted(Path(folder).glob("*.json")):
        data = read_json(path, "lm-eval results")
        results = data.get("results", {}) if isinstance(data, dict) else {}
        for spec in LEADERBOARD_V1:
            key = REFERENCE_KEYS.get(spec.name, spec.metric)
            value = results.get(spec.name, {}).get(key) if isinstance(results.get(spec.name), dict) else None
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise DataError(f"{path}: results.{spec.name}.{key} is {value!r}, not a finite number")
            found[spec.name] = float(value)
    return found
