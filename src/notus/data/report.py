"""Curation report: Markdown + a self-contained HTML page (plots inlined as base64 PNG, no CDN).

    notus data report INPUT -o report/ [--against ../shared/data/benchmarks]
    write_curation_report("report/", pairs=pairs, rated=rated_rows, ledger=ledger, hits=hits)   # in memory

Sections: rows in/out by reason, rating distributions per aspect, how often two strategies choose a
different response, margin histogram, chosen vs rejected length (the length bias DPO exploits),
wins per source model, contamination hits.
"""

from __future__ import annotations

import base64
import html
import io
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from markdown_it import MarkdownIt

from notus.core.errors import NotusError
from notus.core.runs import atomic_write, strict_json
from notus.data.columns import RatedColumns
from notus.data.strategies import parse_strategy

REPORT_FILES = {"markdown": "report.md", "html": "report.html", "json": "report.json"}


def _text(msgs: Any) -> str:
    return msgs if isinstance(msgs, str) else "".join(m["content"] for m in msgs if m["role"] == "assistant")


def _rating_order(item: tuple[str, int]) -> tuple[bool, float]:
    return item[0] == "N/A", 0.0 if item[0] == "N/A" else float(item[0])


def disagreement(rated: list[dict[str, Any]], a: str = "notus", b: str = "zephyr") -> dict[str, Any]:
    """Share of rows (where both strategies pick a chosen response) whose chosen responses differ."""
    from notus.data.binarize import pick

    cols = RatedColumns.read(rated)
    picked = [pick(cols.matrix(s.score(cols)), s, random.Random(0)) for s in map(parse_strategy, (a, b))]
    chosen_a, chosen_b = ({int(r): int(c) for r, c in zip(p.row, p.chosen)} for p in picked)
    both = chosen_a.keys() & chosen_b.keys()
    differ = sum(chosen_a[r] != chosen_b[r] for r in both)
    rate = differ / len(both) if both else None
    return {"a": a, "b": b, "rows_compared": len(both), "different_chosen": differ, "rate": rate}


def summarize(
    pairs: list[dict[str, Any]],
    rated: list[dict[str, Any]] | None = None,
    ledger: Any = None,
    hits: list[dict[str, Any]] | None = None,
    compare: tuple[str, str] = ("notus", "zephyr"),
) -> dict[str, Any]:
    """Every number the report shows, as plain data (also written as report.json)."""
    ratings: dict[str, Counter] = {}
    if rated:
        cols = RatedColumns.read(rated)
        for completion in cols.aspect_ratings(np.arange(len(cols.responses))):
            for aspect, value in completion.items():
                ratings.setdefault(aspect, Counter())["N/A" if value is None else f"{value:g}"] += 1
    if not rated:  # pair files carry only the two scores: show their distributions instead
        for side in ("score_chosen", "score_rejected"):
            values = [p.get(side) for p in pairs]
            if any(v is not None for v in values):
                ratings[side] = Counter("N/A" if v is None else f"{v:g}" for v in values)
    margins = [
        p["score_chosen"] - p["score_rejected"]
        for p in pairs
        if p.get("score_chosen") is not None and p.get("score_rejected") is not None
    ]
    lengths = [(len(_text(p["chosen"])), len(_text(p["rejected"]))) for p in pairs]
    wins = Counter(m for p in pairs if (m := p.get("chosen_model")))
    appearances = wins + Counter(m for p in pairs if (m := p.get("rejected_model")))
    contamination = Counter(h["hits"][0]["benchmark"] for h in hits or [])
    return {
        "ledger": ledger.as_dict() if ledger is not None else None,
        "pairs": len(pairs),
        "ratings": {
            k: dict(sorted(v.items(), key=_rating_order))
            for k, v in ratings.items()
            if sum(n for r, n in v.items() if r != "N/A")
        },
        "disagreement": disagreement(rated, *compare) if rated else None,
        "margins": margins,
        "ties": sum(1 for m in margins if m == 0),
        "length": {
            "chosen_mean_chars": sum(c for c, _ in lengths) / len(lengths) if lengths else None,
            "rejected_mean_chars": sum(r for _, r in lengths) / len(lengths) if lengths else None,
            "chosen_longer_share": sum(c > r for c, r in lengths) / len(lengths) if lengths else None,
        },
        "lengths": lengths,
        "wins": {
            m: {"chosen": wins[m], "in_pairs": appearances[m], "win_rate": wins[m] / appearances[m]}
            for m in sorted(appearances)
        },
        "contamination": dict(contamination),
        "hits": (hits or [])[:50],
    }


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(s: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    if s["ledger"]:
        led = s["ledger"]
        reasons = {"rows out": led["rows_out"], **led["filtered"], "quarantined": led["quarantined"]}
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(reasons) + 1))
        ax.barh(list(reasons)[::-1], list(reasons.values())[::-1], color="#4c72b0")
        ax.set(xlabel="rows", title="Rows in/out by reason")
        out["rows"] = _png(fig)
    if s["ratings"]:
        aspects = list(s["ratings"])
        fig, axes = plt.subplots(1, len(aspects), figsize=(3.2 * len(aspects), 2.8), squeeze=False)
        for ax, aspect in zip(axes[0], aspects):
            counts = s["ratings"][aspect]
            ax.bar(list(counts), list(counts.values()), color="#55a868")
            ax.set_title(aspect, fontsize=9)
        fig.suptitle("Rating distribution per aspect", y=1.06)
        out["ratings"] = _png(fig)
    if s["margins"]:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(s["margins"], bins=20, color="#c44e52")
        ax.set(xlabel="score_chosen - score_rejected", title="Margin histogram")
        out["margins"] = _png(fig)
    if s["lengths"]:
        fig, ax = plt.subplots(figsize=(4.5, 4))
        xs, ys = zip(*s["lengths"])
        ax.scatter(ys, xs, s=6, alpha=0.5)
        top = max(max(xs), max(ys), 1)
        ax.plot([0, top], [0, top], color="grey", lw=1)
        ax.set(xlabel="rejected length (chars)", ylabel="chosen length (chars)")
        ax.set_title("Chosen vs rejected length")
        out["lengths"] = _png(fig)
    if s["wins"]:
        models = sorted(s["wins"], key=lambda m: -s["wins"][m]["win_rate"])[:25]
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(models) + 1))
        ax.barh(models[::-1], [s["wins"][m]["win_rate"] for m in models][::-1], color="#8172b2")
        ax.set(xlabel="share of its pairs where it is chosen", title="Wins per source model")
        out["wins"] = _png(fig)
    return out


def _sections(s: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """(heading, Markdown lines, key of its plot in `_plots`); the HTML page renders the same sections."""
    sections = []
    if s["ledger"]:
        led = s["ledger"]
        total = f"rows in **{led['rows_in']}** = rows out **{led['rows_out']}** + filtered **{sum(led['filtered'].values())}** + quarantined **{led['quarantined']}**"
        lines = [total, "", "| reason | rows |", "|---|---|"]
        lines += [f"| {r} | {n} |" for r, n in led["filtered"].items()]
        lines += [""] + [f"- {note}" for note in led.get("notes", [])]
        if led["repairs"]:
            lines += ["", "Repairs: " + ", ".join(f"{r} ×{n}" for r, n in led["repairs"].items())]
        sections.append(("Rows in/out by reason", lines, "rows"))
    if s["ratings"]:
        keys = sorted({k for v in s["ratings"].values() for k in v}, key=lambda k: _rating_order((k, 0)))
        lines = ["| aspect | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        lines += [f"| {a} | {' | '.join(str(v.get(k, 0)) for k in keys)} |" for a, v in s["ratings"].items()]
        sections.append(("Rating distributions per aspect", lines, "ratings"))
    d = s["disagreement"]
    if d:
        rate = "n/a" if d["rate"] is None else f"{d['rate']:.1%}"
        line = f"`{d['a']}` and `{d['b']}` choose a different response in **{d['different_chosen']} of {d['rows_compared']}** rows ({rate})."
        sections.append(("Strategy disagreement", [line], ""))
    if s["margins"]:
        m = s["margins"]
        line = (
            f"{len(m)} pairs with scores; mean margin {sum(m) / len(m):.3f}; ties (margin 0): **{s['ties']}**"
        )
        sections.append(("Margins", [line], "margins"))
    if s["lengths"]:
        L = s["length"]
        line = f"mean chars: chosen {L['chosen_mean_chars']:.0f}, rejected {L['rejected_mean_chars']:.0f}; chosen is longer in {L['chosen_longer_share']:.1%} of pairs (length bias DPO can exploit)."
        sections.append(("Chosen vs rejected length", [line], "lengths"))
    if s["wins"]:
        rows = sorted(s["wins"].items(), key=lambda kv: -kv[1]["win_rate"])
        lines = ["| model | chosen | in pairs | win rate |", "|---|---|---|---|"]
        lines += [f"| {m} | {w['chosen']} | {w['in_pairs']} | {w['win_rate']:.2f} |" for m, w in rows]
        sections.append(("Wins per source model", lines, "wins"))
    lines = ["| benchmark | contaminated prompts |", "|---|---|"]
    lines += [f"| {b} | {n} |" for b, n in s["contamination"].items()]
    if not s["contamination"]:
        lines = ["No contamination hits" + (" (no benchmarks given)" if s["ledger"] is None else "") + "."]
    for h in s["hits"][:20]:
        top = h["hits"][0]
        lines.append(
            f"- `{h.get('file', '')}:{h.get('line', h['row'])}` → {top['benchmark']} `{top['item_id']}` ({top['match']}, overlap {top['overlap']}): {top['item_text'][:100]}"
        )
    sections.append(("Contamination hits", lines, ""))
    return sections


def write_curation_report(
    out_dir: str | Path,
    pairs: list[dict[str, Any]],
    rated: list[dict[str, Any]] | None = None,
    ledger: Any = None,
    hits: list[dict[str, Any]] | None = None,
    title: str = "Curation report",
    compare: tuple[str, str] = ("notus", "zephyr"),
) -> dict[str, Path]:
    """Write report.md, report.html (self-contained) and report.json from in-memory rows."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotusError(f"{out} is a file; the report needs a folder (-o REPORT_FOLDER)")
    s = summarize(pairs, rated, ledger, hits, compare)
    plots = _plots(s)
    md = [f"# {title}", ""]
    page = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    to_html = MarkdownIt("commonmark", {"html": False}).enable("table").render  # raw HTML is escaped
    for heading, lines, plot in _sections(s):
        section = [f"## {heading}", "", *lines, ""]
        md += section
        page.append(to_html("\n".join(section)))
        if plot in plots:
            page.append(f"<img alt='{html.escape(heading)}' src='data:image/png;base64,{plots[plot]}'>")
    page.append("</body></html>")
    paths = {key: out / name for key, name in REPORT_FILES.items()}
    s.pop("lengths")
    texts = {
        "markdown": "\n".join(md),
        "html": "\n".join(page),
        "json": strict_json(s, str(paths["json"]), indent=1, default=str),
    }
    for key, text in texts.items():
        with atomic_write(paths[key]) as fh:
            fh.write(text)
    return paths


def report_from_input(
    path: str,
    out_dir: str,
    opts: Any,
    compare: str = "zephyr",
    fmt: str | None = None,
    split: str | None = None,
) -> tuple[dict[str, Path], Any]:
    """Load, curate (binarize with `opts.strategy` for rated input) and write the report; the report's
    paths and the curation result (its rejects are for the caller to write)."""
    from notus.data.pipeline import curate, load

    loaded = load(path, fmt, split)
    result = curate(loaded, opts)
    print(result.ledger.summary())
    title = f"Curation report: {Path(path).name} ({loaded.format.name})"
    paths = write_curation_report(
        out_dir,
        result.rows if result.kind == "pairs" or result.kind == "rated" else [],
        rated=result.rated or None,
        ledger=result.ledger,
        hits=result.hits,
        title=title,
        compare=(opts.strategy, compare),
    )
    return paths, result
