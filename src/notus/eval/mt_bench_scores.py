"""MT-Bench scores from model_judgment records, following FastChat's show_result (single mode).

    records, invalid = load_judgments(["model_judgment/gpt-4_single.jsonl"])
    scores = mt_bench_scores(records, categories)

FastChat's rules: judgments whose score is -1 (the judge gave no rating) are removed; every other
record counts, duplicates included (a model judged twice has both judgments averaged in); `turn_1`
and `turn_2` are the mean scores of each turn, `overall` the mean of all remaining scores (not the
mean of the two turn means). Per category: the mean of all remaining scores of its questions.

notus adds one rule: a judgment is scored only if its score is a number in 1-10 (`MIN_SCORE`,
`MAX_SCORE`; not a boolean, a string or NaN) and its turn is 1 or 2. Any other judgment is counted as
failed (`n_failed`; `n_invalid` of them for a bad value, the rest FastChat's -1), never averaged.
A record without the fields of the format, or with a mistyped `model`, `question_id` or `turn`, is
an error naming its file and line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.eval.files import brief, distinct_inputs, read_jsonl, summarize
from notus.eval.mt_bench import FAILED_SCORE

MIN_SCORE, MAX_SCORE = 1, 10  # FastChat's single-answer judge prompts ask for a rating of 1 to 10
TURNS = (1, 2)
JUDGMENT_FIELDS = ("question_id", "model", "turn", "score")


def score_problem(record: dict[str, Any]) -> str | None:
    """Why a judgment is not scored, or None when it is: FastChat's -1, a bad score or a bad turn."""
    score, turn = record.get("score"), record.get("turn")
    if isinstance(turn, bool) or turn not in TURNS:
        return f"turn {brief(turn)} is not 1 or 2"
    if isinstance(score, bool) or not isinstance(score, int | float):
        return f"score {brief(score)} is not a number"
    if score == FAILED_SCORE:
        return "no rating (score -1)"
    if not math.isfinite(score) or not MIN_SCORE <= score <= MAX_SCORE:
        return f"score {brief(score)} is outside {MIN_SCORE}-{MAX_SCORE}"
    return None


def is_no_rating(record: dict[str, Any]) -> bool:
    score = record.get("score")
    return not isinstance(score, bool) and isinstance(score, int | float) and score == FAILED_SCORE


def _format_problems(record: Any) -> list[str]:
    """Problems that make a line unusable as a FastChat judgment record (an error, not a failure)."""
    if not isinstance(record, dict):
        return [f"is a JSON {type(record).__name__}, not an object"]
    problems = [f"field `{k}` is missing" for k in JUDGMENT_FIELDS if k not in record]
    model, qid, turn = record.get("model"), record.get("question_id"), record.get("turn")
    if "model" in record and (not isinstance(model, str) or not model):
        problems.append(f"field `model` is {brief(model)}, not a model name")
    if "question_id" in record and (isinstance(qid, bool) or not isinstance(qid, int | str)):
        problems.append(f"field `question_id` is {brief(qid)}, not an integer or a string")
    if "turn" in record and (isinstance(turn, bool) or not isinstance(turn, int)):
        problems.append(f"field `turn` is {brief(turn)}, not an integer")
    return problems


def load_judgments(
    paths: list[str], allow_empty: bool = False, option: str = "--judgments"
) -> tuple[list[dict], list[str]]:
    """FastChat model_judgment records from JSONL files, and where the unscorable ones are.

    Records without the format's fields are an error (all of them listed); records with a bad score
    or turn are kept, and `file:line: why` is returned for each so the caller can report them."""
    records, invalid, problems = [], [], []
    for path in distinct_inputs(paths, option):
        for n, record in read_jsonl(path, "MT-Bench judgment"):
            found = _format_problems(record)
            if found:
                problems += [f"{path}:{n}: {p}" for p in found]
                continue
            why = score_problem(record)
            if why is not None and not is_no_rating(record):
                invalid.append(f"{path}:{n}: {why}")
            records.append(record)
    if problems:
        raise DataError(
            f"{len(problems)} problem(s) in FastChat model_judgment records "
            f"(fields {', '.join(JUDGMENT_FIELDS)}): {summarize(problems)}"
        )
    if not records and not allow_empty:
        raise DataError(f"{', '.join(paths)}: no judgments; give a non-empty file (or --allow-empty)")
    return records, invalid


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def mt_bench_scores(
    records: list[dict[str, Any]], categories: dict[Any, str] | None = None
) -> dict[str, dict]:
    """Pure: per model `turn_1`, `turn_2`, `overall`, per-category means and the counts behind them."""
    by_model: dict[str, list[dict]] = {}
    for r in records:
        by_model.setdefault(str(r["model"]), []).append(r)
    table = {}
    for model, rows in by_model.items():
        scored = [r for r in rows if score_problem(r) is None]
        keys = [(r["question_id"], r["turn"]) for r in rows]
        per_category: dict[str, list[float]] = {}
        if categories:
            for r in scored:
                per_category.setdefault(categories.get(r["question_id"], "unknown"), []).append(
                    float(r["score"])
                )
        table[model] = {
            "turn_1": _mean([float(r["score"]) for r in scored if r["turn"] == 1]),
            "turn_2": _mean([float(r["score"]) for r in scored if r["turn"] == 2]),
            "overall": _mean([float(r["score"]) for r in scored]),
            "categories": {c: _mean(v) for c, v in sorted(per_category.items())},
            "n_judgments": len(rows),
            "n_failed": len(rows) - len(scored),
            "n_invalid": len(rows) - len(scored) - sum(is_no_rating(r) for r in rows),
            "n_duplicates": len(keys) - len(set(keys)),
        }
    return table


def radar_plot(table: dict[str, dict], path: str | Path) -> Path:
    """A radar chart of per-category scores (0-10), one polygon per model, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = sorted({c for row in table.values() for c in row["categories"]})
    if not categories:
        raise ValueError("no per-category scores to plot (questions' categories unknown)")
    angles = [2 * math.pi * i / len(categories) for i in range(len(categories))]
    fig = plt.figure(figsize=(6, 6))
    ax = fig.add_subplot(polar=True)
    for model, row in table.items():
        values = [row["categories"].get(c) or 0.0 for c in categories]
        ax.plot(angles + angles[:1], values + values[:1], label=model)
        ax.fill(angles + angles[:1], values + values[:1], alpha=0.1)
    ax.set_xticks(angles)
    ax.set_xticklabels(categories)
    ax.set_ylim(0, 10)
    ax.set_title("MT-Bench score per category")
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
