"""Ratings and parse failures of a rated file, as a dict and as Markdown.

summary = feedback_report("rated.jsonl")          # reads rated.jsonl.judgments.jsonl beside it
Path("report.md").write_text(report_markdown(summary))
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.feedback.store import read_located


def feedback_report(rated_path: str | Path, binarize_stats: dict[str, Any] | None = None) -> dict[str, Any]:
    located = read_located(Path(rated_path))
    rows = [row for _, row in located]
    judgments_path = Path(f"{rated_path}.judgments.jsonl")
    judged = read_located(judgments_path) if judgments_path.exists() else []
    judgments = [record for _, record in judged]
    ratings: dict[str, Counter] = {}
    status: dict[str, Counter] = {}
    problems: dict[str, Counter] = {}
    for where, record in judged:
        try:
            kind = record["kind"]
            entries = record.get("ratings") or [{"rating": record.get("score"), "status": record["status"],
                                                 "problem": record.get("problem", "")}]  # fmt: skip
            for e in entries:
                status.setdefault(kind, Counter())[e["status"]] += 1
                ratings.setdefault(kind, Counter())[
                    str(e["rating"]) if e["rating"] is not None else "unparsed"
                ] += 1
                if e["status"] == "unparsed":
                    problems.setdefault(kind, Counter())[str(e["problem"]).split(" '")[0][:60]] += 1
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError(
                f"{where}: not a judgment record of `notus feedback rate` (field {exc} missing or of the "
                f"wrong type: it needs kind, and ratings[] or status); re-run the rate step"
            ) from None
    for where, row in located:
        completions = row.get("completions", [])
        if not isinstance(completions, list) or not all(isinstance(c, dict) for c in completions):
            raise DataError(
                f"{where}: field 'completions' must be a list of objects (as `notus feedback` writes)"
            )
    models = Counter(c.get("model", "") for r in rows for c in r.get("completions", []))
    return {
        "rows": len(rows),
        "completions": sum(len(r.get("completions", [])) for r in rows),
        "models": dict(models),
        "judge_requests": len(judgments),
        "ratings": {k: dict(sorted(v.items())) for k, v in ratings.items()},
        "status": {k: dict(v) for k, v in status.items()},
        "parse_failures": {k: v.get("unparsed", 0) for k, v in status.items()},
        "failure_reasons": {k: dict(v.most_common(5)) for k, v in problems.items()},
        "binarize": binarize_stats or {},
    }


def report_markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# AI feedback report",
        "",
        f"- rows: {summary['rows']}, completions: {summary['completions']}, judge requests: {summary['judge_requests']}",
        f"- completions per model: {summary['models']}",
        "",
        "| judged | ok | N/A | unparsed | rating counts |",
        "|---|---|---|---|---|",
    ]
    for kind, counts in summary["status"].items():
        dist = ", ".join(f"{k}: {v}" for k, v in summary["ratings"][kind].items())
        lines.append(
            f"| {kind} | {counts.get('ok', 0)} | {counts.get('na', 0)} | {counts.get('unparsed', 0)} | {dist} |"
        )
    if summary["failure_reasons"]:
        lines += ["", "## Parse failures (most common reasons)", ""]
        for kind, reasons in summary["failure_reasons"].items():
            lines += [f"- {kind}: " + "; ".join(f"{r} ({n})" for r, n in reasons.items())]
    if summary["binarize"]:
        lines += ["", "## Binarization", "", "```json", json.dumps(summary["binarize"], indent=1), "```"]
    return "\n".join(lines) + "\n"
