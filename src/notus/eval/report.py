"""Comparison report: evaluated models next to published numbers, as Markdown + self-contained HTML,
plus a `model-index` block for Hub model cards.

    notus eval report --alpaca-annotations runs/alpaca/annotations.json \
        --mt-bench-judgments runs/mt_bench/model_judgment/gpt-4_single.jsonl \
        --harness-results runs/harness/results.json \
        --published ../shared/data/alpaca_eval/leaderboards --models zephyr-7b-beta,notus-7b-v1 \
        --reference-results ../shared/data/reference_results --output runs/eval_report

Published rows come from files only: AlpacaEval 1/2 leaderboards (win rate, standard error, LC win
rate, average length), the cross-benchmark table (MT-Bench, Open LLM Leaderboard tasks), and lm-eval
result folders (`reference_results/<model>/`). A model missing from every file shows "-".
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.eval.files import read_text, write_text_atomic

LEADERBOARDS = {"alpaca_eval_gpt4": "AlpacaEval 1", "weighted_alpaca_eval_gpt4_turbo": "AlpacaEval 2"}
OPEN_LLM = [
    ("arc_challenge", "ARC-C (25-shot)"),
    ("hellaswag", "HellaSwag (10-shot)"),
    ("mmlu", "MMLU (5-shot)"),
    ("truthfulqa_mc2", "TruthfulQA (0-shot)"),
    ("winogrande", "WinoGrande (5-shot)"),
    ("gsm8k", "GSM-8K (5-shot)"),
]


def _f(x: Any, digits: int = 2) -> str:
    return "-" if x is None or x == "" else f"{float(x):.{digits}f}"


def _ratio(length: float, base: float | None) -> str:
    return "-" if not base else f"{100 * (length / base - 1):+.0f} %"


def published_rows(folder: Path | None, reference_results: Path | None, models: list[str]) -> dict[str, dict]:
    """Per published model: alpaca rows per annotator, MT-Bench and Open LLM scores, from files; a file
    that is not the published format is one DataError naming it."""
    try:
        return _published_rows(folder, reference_results, models)
    except (KeyError, ValueError, TypeError, csv.Error) as exc:
        raise DataError(
            f"{folder}: a published leaderboard file is not in alpaca_eval's format ({type(exc).__name__}: "
            f"{exc}); use the files of ../shared/data/alpaca_eval/leaderboards"
        ) from None


def _published_rows(
    folder: Path | None, reference_results: Path | None, models: list[str]
) -> dict[str, dict]:
    rows: dict[str, dict] = {m: {"alpaca": {}, "mt_bench": None, "open_llm": {}} for m in models}
    if folder:
        for annotator in LEADERBOARDS:
            path = folder / f"{annotator}_leaderboard.csv"
            if path.is_file():
                for r in csv.DictReader(io.StringIO(read_text(path, "leaderboard CSV"), newline="")):
                    if r[""] in rows:
                        rows[r[""]]["alpaca"][annotator] = r
        cross = folder / "cross_benchmark_table.csv"
        if cross.is_file():
            for r in csv.DictReader(io.StringIO(read_text(cross, "cross-benchmark CSV"), newline="")):
                r = {k.replace("\n", " "): v for k, v in r.items()}
                if r["Model"] in rows:
                    rows[r["Model"]]["mt_bench"] = r.get("MT-bench (multi-turn)") or None
                    for task, column in OPEN_LLM:
                        if r.get(column):
                            rows[r["Model"]]["open_llm"][task] = float(r[column])
    if reference_results:
        from notus.eval.harness import reference_scores

        for model in models:
            folder_m = reference_results / model
            if folder_m.is_dir():
                scores = reference_scores(folder_m)
                rows[model]["open_llm"].update({k: 100 * v for k, v in scores.items()})
    return rows


def length_plot(points: list[tuple[str, float, float]]) -> str:
    """Win rate against average length (one point per model and leaderboard), as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, length, rate in points:
        ax.scatter(length, rate)
        ax.annotate(label, (length, rate), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("average output length (characters)")
    ax.set_ylabel("win rate (%)")
    ax.set_title("AlpacaEval win rate vs answer length")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def model_index(name: str, alpaca: dict[str, dict], mt_bench: dict | None, harness: dict | None) -> str:
    """A Hub model-card `model-index` YAML block with the evaluated results."""
    results = []
    for annotator, row in alpaca.items():
        metrics = [("win_rate", row["win_rate"])]
        if row.get("length_controlled_winrate") is not None:
            metrics.append(("length_controlled_winrate", row["length_controlled_winrate"]))
        results.append((LEADERBOARDS.get(annotator, annotator), "tatsu-lab/alpaca_eval", metrics))
    if mt_bench and mt_bench.get("overall") is not None:
        results.append(("MT-Bench", "lmsys/mt_bench", [("score", mt_bench["overall"])]))
    for task, r in (harness or {}).get("results", {}).items():
        if r.get("value") is not None:
            results.append((task, task, [(r["metric"].split(",")[0], 100 * r["value"])]))
    lines = ["model-index:", f"- name: {name}", "  results:"]
    for dataset, dataset_type, metrics in results:
        lines += ["  - task:", "      type: text-generation", "    dataset:", f"      name: {dataset}"]
        lines += [f"      type: {dataset_type}", "    metrics:"]
        for metric, value in metrics:
            lines += [f"    - type: {metric}", f"      value: {value:.2f}"]
    return "\n".join(lines) + "\n"


def build_report(
    evaluated_alpaca: dict[str, dict],
    evaluated_mt_bench: dict[str, dict],
    harness: list[dict],
    published: dict[str, dict],
    output: Path,
) -> tuple[Path, Path]:
    md = ["# notus evaluation report", ""]
    # answer length relative to the first published model with an AlpacaEval row (e.g. Zephyr-7B-beta)
    base_name = next((n for n, p in published.items() if p["alpaca"]), None)
    base_len = float(next(iter(published[base_name]["alpaca"].values()))["avg_length"]) if base_name else None
    md += [
        "## AlpacaEval",
        "",
        "| model | source | leaderboard | win rate | SE | LC win rate | avg length | length vs "
        f"{base_name or 'first published'} | n |",
    ]
    md += ["|---|---|---|---|---|---|---|---|---|"]
    points = []
    for name, r in evaluated_alpaca.items():
        board = LEADERBOARDS.get(r["annotator"], r["annotator"])
        md.append(
            f"| {name} | evaluated | {board} | {_f(r['win_rate'])} | {_f(r['standard_error'])} | "
            f"{_f(r.get('length_controlled_winrate'))} | {r['avg_length']} | {_ratio(r['avg_length'], base_len)} "
            f"| {r['n_total']} |"
        )
        if r["win_rate"] is not None:  # None: no valid preference
            points.append((f"{name} ({board})", r["avg_length"], r["win_rate"]))
    for name, p in published.items():
        for annotator, r in p["alpaca"].items():
            md.append(
                f"| {name} | published | {LEADERBOARDS[annotator]} | {_f(r['win_rate'])} | {_f(r['standard_error'])} | "
                f"{_f(r.get('length_controlled_winrate'))} | {r['avg_length']} | "
                f"{_ratio(float(r['avg_length']), base_len)} | {r['n_total']} |"
            )
            points.append(
                (f"{name} ({LEADERBOARDS[annotator]})", float(r["avg_length"]), float(r["win_rate"]))
            )
        if not p["alpaca"]:
            md.append(f"| {name} | published | - | - | - | - | - | - | - |")
    md += [
        "",
        "## MT-Bench",
        "",
        "| model | source | turn 1 | turn 2 | overall | no rating |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in evaluated_mt_bench.items():
        md.append(
            f"| {name} | evaluated | {_f(r['turn_1'])} | {_f(r['turn_2'])} | {_f(r['overall'])} | {r['n_failed']} |"
        )
    for name, p in published.items():
        md.append(f"| {name} | published | - | - | {_f(p['mt_bench'])} | - |")
    md += ["", "## Open LLM Leaderboard v1", ""]
    md += [
        "| model | source | " + " | ".join(c for _, c in OPEN_LLM) + " | average |",
        "|---|---" + "|---" * 7 + "|",
    ]
    for h in harness:
        values = [h["results"].get(t, {}).get("value") for t, _ in OPEN_LLM]
        cells = [_f(None if v is None else 100 * v) for v in values]
        limit = f" (limit {h['limit']})" if h.get("limit") else ""
        md.append(
            f"| {h['model']} | evaluated{limit} | "
            + " | ".join(cells)
            + f" | {_f(h['leaderboard_average'])} |"
        )
    for name, p in published.items():
        values = [p["open_llm"].get(t) for t, _ in OPEN_LLM]
        avg = sum(values) / 6 if all(v is not None for v in values) else None
        md.append(f"| {name} | published | " + " | ".join(_f(v) for v in values) + f" | {_f(avg)} |")
    blocks = [
        model_index(
            n,
            {r["annotator"]: r for m, r in evaluated_alpaca.items() if m == n},
            evaluated_mt_bench.get(n),
            next((h for h in harness if h["model"] == n), None),
        )
        for n in sorted({*evaluated_alpaca, *evaluated_mt_bench, *(h["model"] for h in harness)})
    ]
    md += ["", "## model-index (for model cards)", "", "```yaml", "---\n".join(blocks).rstrip(), "```", ""]
    md_path = write_text_atomic(output / "report.md", "\n".join(md))
    write_text_atomic(output / "model_index.yaml", "---\n".join(blocks))
    body = markdown_tables_to_html(md)
    if points:
        body += f'<h2>Win rate vs length</h2><img alt="win rate vs length" src="data:image/png;base64,{length_plot(points)}">'
    html_path = write_text_atomic(
        output / "report.html",
        "<!doctype html><html><head><meta charset='utf-8'><title>notus evaluation report</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}pre{background:#f4f4f4;padding:1em}</style></head>"
        f"<body>{body}</body></html>",
    )
    return md_path, html_path


def markdown_tables_to_html(lines: list[str]) -> str:
    """The report's own Markdown (headings, pipe tables, one code block) as HTML."""
    out, in_code, table = [], False, []
    for line in [*lines, ""]:
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                table.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        if table:
            head, *rows = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows]
            out.append("</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
    return "\n".join(out)
