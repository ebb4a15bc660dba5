"""MT-Bench scores from model_judgment records, following FastChat's show_result (single mode).

    scores = mt_bench_scores(read_jsonl("model_judgment/gpt-4_single.jsonl"), categories)

FastChat's rules: judgments whose score is -1 (the judge gave no rating) are removed; every other
record counts, duplicates included (a model judged twice has both judgments averaged in); `turn_1`
and `turn_2` are the mean scores of each turn, `overall` the mean of all remaining scores (not the
mean of the two turn means). Per category: the mean of all remaining scores of its questions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from notus.eval.mt_bench import FAILED_SCORE


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
        scored = [r for r in rows if r["score"] != FAILED_SCORE]
        keys = [(r["question_id"], r["turn"]) for r in rows]
        per_category: dict[str, list[float]] = {}
        if categories:
            for r in scored:
                per_category.setdefault(categories.get(r["question_id"], "unknown"), []).append(
                    float(r["score"])
                )
        table[model] = {
            "turn_1": _mean([float(r["score"]) for r in scored if int(r["turn"]) == 1]),
            "turn_2": _mean([float(r["score"]) for r in scored if int(r["turn"]) == 2]),
            "overall": _mean([float(r["score"]) for r in scored]),
            "categories": {c: _mean(v) for c, v in sorted(per_category.items())},
            "n_judgments": len(rows),
            "n_failed": len(rows) - len(scored),
            "n_duplicates": len(keys) - len(set(keys)),
        }
    return table


def radar_plot(table: dict[str, dict], path: str | Path) -> Path:
    """A radar chart of per-category scores (0-10), one polygon per model, saved as PNG."""
    import math

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
