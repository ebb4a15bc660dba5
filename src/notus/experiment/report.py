"""The experiment's numbers, its conclusion (generated from them), caveats, and the report files.

`summarize` turns per-seed metrics into means, spreads, Wilson intervals and a paired test between the
first two strategies; `write_report` writes report.md and a self-contained report.html (Markdown
rendered by markdown-it-py, plots inlined as PNG data URIs, nothing fetched from the internet).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from notus.core.runs import read_jsonl
from notus.eval.stats import CONFIDENCE, paired_test, spread, wilson

ALPHA = 0.05  # significance level of the paired test
METRICS = {"reward_accuracy": "implicit-reward accuracy", "logp_accuracy": "log-prob preference accuracy"}


def _pairs(n: int) -> str:
    return f"{n} pair" if n == 1 else f"{n} pairs"


def words(seconds: float) -> str:
    """12 -> "12 seconds", 75 -> "1 minute 15 seconds", 3720 -> "1 hour 2 minutes"."""
    s = round(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60

    def unit(n: int, name: str) -> str:
        return f"{n} {name}{'' if n == 1 else 's'}"

    if h:
        return unit(h, "hour") + (f" {unit(m, 'minute')}" if m else "")
    if m:
        return unit(m, "minute") + (f" {unit(sec, 'second')}" if sec else "")
    return unit(sec, "second")


def _per_pair(by_seed: dict[int, dict], metric: str) -> list[list[int]]:
    key = metric.replace("_accuracy", "_correct")
    return [m[key] for _, m in sorted(by_seed.items())]


def summarize(
    recipe, run: Path, data: dict, train: dict, evaluation: dict, judged: dict, timings: dict
) -> dict:  # noqa: ANN001
    strategies = recipe.strategies
    results: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    for test, by_model in evaluation.items():
        n = next(iter(by_model["base"].values()))["n"]
        rows = {}
        for name, by_seed in by_model.items():
            row = {}
            for metric in METRICS:
                values = [m[metric] for _, m in sorted(by_seed.items())]
                wins = [m[metric.replace("_accuracy", "_wins")] for _, m in sorted(by_seed.items())]
                low, high = wilson(round(sum(wins) / len(wins)), n)
                row[metric] = {**spread(values), "wilson_of_mean": [low, high], "per_seed": values}
            rows[name] = row
        tests[test] = {"n": n, "models": rows}
        if len(strategies) >= 2 and strategies[0] in by_model and strategies[1] in by_model:
            a, b = strategies[:2]
            tests[test]["paired"] = {
                metric: {
                    "a": a,
                    "b": b,
                    **paired_test(_per_pair(by_model[a], metric), _per_pair(by_model[b], metric)),
                }
                for metric in METRICS
            }
    results["tests"] = tests
    sample = any(
        "ultrafeedback_mini" in str(v.get("input", "")) for v in data.values() if isinstance(v, dict)
    )
    summary = {
        "run": str(run),
        "recipe": {"strategies": strategies, "seeds": recipe.seeds, "method": recipe.method},
        "data": data,
        "train": train,
        "preference": results,
        "judged": judged,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "shipped_sample": sample,
    }
    if "head_to_head" in judged:
        summary["head_to_head"] = head_to_head(judged["head_to_head"])
    summary["conclusion"] = conclusion(summary)
    summary["caveats"] = caveats(summary)
    return summary


def head_to_head(h: dict) -> dict:
    """Wins of the first strategy's models over the second's, pooled over seeds, with a Wilson interval of
    the win share among decided prompts and an exact two-sided sign test (draws left out)."""
    from scipy.stats import binomtest

    from notus.llm.models import EMBEDDED

    wins = sum(r["n_wins"] or 0 for r in h["per_seed"].values())
    losses = sum(r["n_wins_base"] or 0 for r in h["per_seed"].values())
    draws = sum(r["n_draws"] or 0 for r in h["per_seed"].values())
    unparsed = sum(r.get("n_unparsed") or 0 for r in h["per_seed"].values())
    decided = wins + losses
    return {
        **h,
        "wins": wins,
        "losses": losses,
        "draws": draws,
        "unparsed": unparsed,
        "win_share": wins / decided if decided else None,
        "win_share_wilson": list(wilson(wins, decided)),
        "p_value": float(binomtest(wins, decided).pvalue) if decided else 1.0,
        "smoke_test": h.get("judge") in EMBEDDED,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def conclusion(s: dict) -> list[str]:
    """Sentences that follow from the numbers alone (the paired test decides what can be claimed)."""
    lines = []
    strategies, seeds = s["recipe"]["strategies"], s["recipe"]["seeds"]
    for test, t in s["preference"]["tests"].items():
        for name in strategies:
            if name not in t["models"]:
                continue
            m = t["models"][name]["reward_accuracy"]
            low, high = m["wilson_of_mean"]
            where = "above" if low > 0.5 else "below" if high < 0.5 else "not distinguishable from"
            lines.append(
                f"On the {t['n']} held-out {test} pairs, {name}-trained models rank the chosen answer higher by "
                f"implicit reward in {_pct(m['mean'])} of pairs (mean of {len(seeds)} seed(s), sd {m['sd']:.3f}; "
                f"{int(CONFIDENCE * 100)} % Wilson interval {low:.2f}-{high:.2f}): {where} chance (50 %)."
            )
        paired = t.get("paired", {}).get("reward_accuracy")
        if paired:
            a, b, p = paired["a"], paired["b"], paired["p_value"]
            counts = f"{a} better on {_pairs(paired['a_better'])}, {b} on {paired['b_better']}, p = {p:.3g}"
            if p < ALPHA:
                winner = a if paired["a_better"] > paired["b_better"] else b
                lines.append(
                    f"On the {test} pairs, {winner}-trained models are more accurate ({counts}; {paired['test']})."
                )
            else:
                lines.append(
                    f"On the {test} pairs, no difference between {a}- and {b}-trained models can be claimed at this n "
                    f"({counts}; {paired['test']})."
                )
    h = s.get("head_to_head")
    if h:
        label = (
            " (an embedded-model judge: a smoke test of the loop, not evidence)" if h["smoke_test"] else ""
        )
        counts = f"{h['wins']} wins, {h['losses']} losses, {h['draws']} draws, {h['unparsed']} unparsed verdicts over {len(h['per_seed'])} seed(s), p = {h['p_value']:.3g}"
        if h["p_value"] < ALPHA:
            better = h["a"] if h["wins"] > h["losses"] else h["b"]
            lines.append(
                f"Judged head-to-head on the held-out prompts{label}: {better}-trained answers are preferred ({counts})."
            )
        else:
            lines.append(
                f"Judged head-to-head on the held-out prompts{label}: no preference between {h['a']}- and "
                f"{h['b']}-trained answers can be claimed at this n ({counts})."
            )
    if not lines:
        lines.append("No held-out preference pairs were evaluated, so nothing can be concluded.")
    return lines


def caveats(s: dict) -> list[str]:
    out = []
    if s["shipped_sample"]:
        out.append(
            "The data is the synthetic sample shipped with notus (72 hand-written prompts, four completions each "
            "written to a fixed quality tier). Its ratings and the rows where the strategies disagree were written "
            "on purpose, so the disagreement rate is by construction and says nothing about UltraFeedback."
        )
    n = min((t["n"] for t in s["preference"]["tests"].values()), default=0)
    out.append(
        f"Held-out sets are small (n = {n}): intervals are wide and only large differences could be detected."
    )
    out.append(
        "Preference accuracy measures how the models rank held-out pairs labelled by the same strategy; it is "
        "not a measure of answer quality. Each strategy's test pairs are labelled by that strategy, so a model "
        "may do well on its own strategy's labels by construction."
    )
    if len(s["recipe"]["seeds"]) < 3:
        out.append(
            f"Only {len(s['recipe']['seeds'])} training seed(s): the spread over seeds is not estimated well."
        )
    if not s["judged"]:
        out.append(
            "No judged evaluation (AlpacaEval / MT-Bench) was configured: nothing here compares answers."
        )
    return out


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _plots(s: dict) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for strategy, by_seed in s["train"].items():
        for i, (_seed, t) in enumerate(sorted(by_seed.items())):
            path = Path(t["output_dir"]) / "metrics.jsonl"
            rows = [r for r in read_jsonl(path) if "loss" in r] if path.is_file() else []
            ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], alpha=0.7,
                    color=f"C{list(s['train']).index(strategy)}", label=strategy if i == 0 else None)  # fmt: skip
    ax.set(title="training loss (one line per seed)", xlabel="optimizer step", ylabel="loss")
    ax.legend(title="trained on")
    ax.grid(alpha=0.3)
    plots.append(("Training loss", _png(fig)))
    plt.close(fig)

    tests = s["preference"]["tests"]
    if tests:
        fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 3.6))
        names = list(next(iter(tests.values()))["models"])
        width = 0.8 / len(names)
        for ax, (metric, title) in zip(axes, METRICS.items()):
            for i, name in enumerate(names):
                xs, ys, lo, hi = [], [], [], []
                for j, t in enumerate(tests.values()):
                    m = t["models"][name][metric]
                    xs.append(j + i * width)
                    ys.append(m["mean"])
                    lo.append(m["mean"] - m["wilson_of_mean"][0])
                    hi.append(m["wilson_of_mean"][1] - m["mean"])
                    ax.scatter(
                        [j + i * width] * len(m["per_seed"]), m["per_seed"], color="black", s=8, zorder=3
                    )
                ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=name)
            ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(tests))])
            ax.set_xticklabels([f"{t} test pairs (n={v['n']})" for t, v in tests.items()])
            ax.set(title=title, ylabel="share of pairs ranked right", ylim=(0, 1))
            ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        axes[0].legend(title="model", fontsize=8)
        fig.text(0.5, -0.04, f"bars: mean over seeds; dots: single seeds; error bars: {int(CONFIDENCE * 100)} % Wilson "
                 "interval for the held-out n; dashed line: chance", ha="center", fontsize=8)  # fmt: skip
        plots.append(("Held-out preference accuracy", _png(fig)))
        plt.close(fig)
    return plots


def _markdown(s: dict) -> str:
    r = s["recipe"]
    out = ["# Notus experiment: " + " vs ".join(r["strategies"]) + " binarization", ""]
    out += [
        "## What was run",
        "",
        f"The same rated rows were curated once per strategy ({', '.join(r['strategies'])}) by `notus data curate`, "
        f"then `notus train {r['method']}` ran on each strategy's train split with seeds {', '.join(map(str, r['seeds']))}, "
        "and every model was scored on the held-out pairs (split by prompt hash, so every strategy holds out the "
        f"same prompts). Total time: {words(s['timings_s']['total'])}.",
        "",
    ]
    differs = s["data"].get("chosen_differs")
    if differs:
        out += [
            f"The chosen response differs between {differs['a']} and {differs['b']} in "
            f"{differs['different_chosen']} of {differs['rows_compared']} rows.",
            "",
        ]
    out += ["## Conclusion", ""] + [f"- {line}" for line in s["conclusion"]] + [""]
    out += ["## Caveats", ""] + [f"- {line}" for line in s["caveats"]] + [""]
    out += [
        "## Data",
        "",
        "| strategy | train pairs | test pairs | rows in | quarantined | filtered |",
        "|---|---|---|---|---|---|",
    ]
    for strategy in r["strategies"]:
        d = s["data"][strategy]
        filtered = sum(d["ledger"].get("filtered", {}).values())
        out.append(f"| {strategy} | {d['splits'].get('train', 0)} | {d['splits'].get('test', 0)} | "
                   f"{d['ledger'].get('rows_in')} | {d['ledger'].get('quarantined')} | {filtered} |")  # fmt: skip
    out.append("")
    for test, t in s["preference"]["tests"].items():
        out += [f"## Held-out {test} pairs (n = {t['n']})", "",
                "| model | reward accuracy: mean (sd) | Wilson 95 % | log-prob accuracy: mean (sd) | Wilson 95 % | seeds |",
                "|---|---|---|---|---|---|"]  # fmt: skip
        for name, m in t["models"].items():
            ra, la = m["reward_accuracy"], m["logp_accuracy"]
            out.append(
                f"| {name} | {ra['mean']:.3f} ({ra['sd']:.3f}) | {ra['wilson_of_mean'][0]:.2f}-{ra['wilson_of_mean'][1]:.2f} "
                f"| {la['mean']:.3f} ({la['sd']:.3f}) | {la['wilson_of_mean'][0]:.2f}-{la['wilson_of_mean'][1]:.2f} | {ra['n']} |"
            )
        out.append("")
        for metric, p in t.get("paired", {}).items():
            out.append(f"- Paired test on {METRICS[metric]} ({p['test']}): {p['a']} better on {_pairs(p['a_better'])}, "
                       f"{p['b']} on {p['b_better']}, equal on {p['ties']}; p = {p['p_value']:.3g}.")  # fmt: skip
        out += ["", "The base model is the DPO reference: its implicit reward is 0 for every answer, so its reward "
                "accuracy is 0 by definition. In the accuracy plot, bars are means over seeds, dots single seeds "
                "and error bars 95 % Wilson intervals for this n.", ""]  # fmt: skip
    h = s.get("head_to_head")
    if h:
        share = "-" if h["win_share"] is None else f"{h['win_share']:.2f}"
        low, high = h["win_share_wilson"]
        out += [f"## Judged head-to-head: {h['a']} against {h['b']} on {h['prompts']} held-out prompts", "",
                f"Judge: {h['judge']}" + (" (embedded model: a smoke test, not evidence)" if h["smoke_test"] else "") + ".", "",
                "| seed | win rate (AlpacaEval) | wins | losses | draws | unparsed |", "|---|---|---|---|---|---|"]  # fmt: skip
        for seed, row in sorted(h["per_seed"].items()):
            rate = "-" if row["win_rate"] is None else f"{row['win_rate']:.1f}"
            out.append(
                f"| {seed} | {rate} | {row['n_wins']} | {row['n_wins_base']} | {row['n_draws']} | {row.get('n_unparsed', 0)} |"
            )
        out += ["", f"Pooled over seeds: {h['a']} wins {share} of decided prompts (95 % Wilson {low:.2f}-{high:.2f}); "
                f"exact sign test p = {h['p_value']:.3g}.", ""]  # fmt: skip
    out += ["## Training", "", "| strategy | seed | steps | final loss | time |", "|---|---|---|---|---|"]
    for strategy, by_seed in s["train"].items():
        for seed, t in sorted(by_seed.items()):
            loss = "-" if t["final_loss"] is None else f"{t['final_loss']:.4f}"
            out.append(f"| {strategy} | {seed} | {t['steps']} | {loss} | {words(t['seconds'])} |")
    out += (
        ["", "## Time", ""]
        + [f"- {k.replace('_', ' ')}: {words(v)}" for k, v in s["timings_s"].items()]
        + [""]
    )
    out += ["## Reproduce one stage", "", "Each stage's resolved recipe is in the run folder:", "",
            f"- `notus data curate {s['run']}/data/{r['strategies'][0]}.curate.yaml`",
            f"- `notus train {r['method']} {s['run']}/models/{r['strategies'][0]}-seed{r['seeds'][0]}/recipe.yaml`", ""]  # fmt: skip
    return "\n".join(out)


def write_report(run: Path, summary: dict) -> dict[str, Path]:
    from markdown_it import MarkdownIt

    md = _markdown(summary)
    md_path, html_path = run / "report.md", run / "report.html"
    md_path.write_text(md, encoding="utf-8")
    body = MarkdownIt("commonmark").enable("table").render(md)
    figures = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='{uri}'>"
        for title, uri in _plots(summary)
    )
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}img{max-width:100%}")  # fmt: skip
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>notus experiment</title><style>{style}</style>"
            f"</head><body>{body}{figures}</body></html>")  # fmt: skip
    html_path.write_text(page, encoding="utf-8")
    return {"markdown": md_path, "html": html_path}
