"""The Notus experiment's report: Markdown for reading in a terminal or on the Hub, and one
self-contained HTML file (plots inlined as PNG data URIs, no assets from the internet)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from notus.core.runs import read_jsonl


def png_data_uri(fig) -> str:  # noqa: ANN001  (a matplotlib Figure)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _read_metrics(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [r for r in read_jsonl(path) if "loss" in r]


def _plots(run: Path, strategies: list[str], evaluation: dict) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for strategy in strategies:
        rows = _read_metrics(run / "metrics" / f"dpo_{strategy}.jsonl")
        steps = [r["step"] for r in rows]
        axes[0].plot(steps, [r["loss"] for r in rows], label=strategy)
        margins = [r.get("rewards/margins") for r in rows]
        if all(m is not None for m in margins):
            axes[1].plot(steps, margins, label=strategy)
    axes[0].set(title="DPO training loss", xlabel="step")
    axes[1].set(title="reward margin (chosen - rejected)", xlabel="step")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    plots.append(("Training curves", png_data_uri(fig)))
    plt.close(fig)

    pref = evaluation["preference"]
    models = list(pref)
    tests = sorted({t for by_test in pref.values() for t in by_test})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        xs = [j + i * width for j in range(len(tests))]
        for ax, key in zip(axes, ("reward_accuracy", "logp_accuracy"), strict=True):
            values = [pref[model].get(t, {}).get(key, 0.0) for t in tests]
            errors = [pref[model].get(t, {}).get(key + "_se", 0.0) for t in tests]
            ax.bar(xs, values, width, yerr=errors, label=model, capsize=3)
    for ax, title in zip(axes, ("implicit-reward accuracy", "log-prob preference accuracy"), strict=True):
        ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(tests))])
        ax.set_xticklabels([f"{t} test pairs" for t in tests])
        ax.set(title=title, ylim=(0, 1))
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.legend(fontsize=8)
    plots.append(("Held-out preference accuracy", png_data_uri(fig)))
    plt.close(fig)
    return plots


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _markdown(recipe: dict, stats: dict, evaluation: dict) -> str:
    strategies = recipe["strategies"]
    out = ["# Notus experiment: Zephyr vs Notus binarization", ""]
    out.append(
        f"Model `{recipe['model']}`, data {stats['source']} ({stats['rows']} prompts: "
        f"{stats['train_rows']} train, {stats['test_rows']} held out), seed {recipe['seed']}."
    )
    out += ["", "## Data", ""]
    rows = []
    for s in strategies:
        for split in ("train", "test"):
            st = stats[s][split]
            dropped = ", ".join(f"{k}: {v}" for k, v in st["dropped"].items()) or "none"
            rows.append([s, split, st["rows_in"], st["pairs_out"], st["top_ties"], dropped])
    out.append(_table(["strategy", "split", "rows in", "pairs out", "ties at the top", "dropped"], rows))
    if "chosen_differs" in stats:
        d = stats["chosen_differs"]
        out += [
            "",
            f"**The chosen response differs in {d['chosen_differs']} of {d['rows_both_kept']} rows "
            f"({d['share']:.1%})** between `{strategies[0]}` and `{strategies[1]}`.",
        ]
    dpo = recipe["dpo"]
    out += [
        "",
        "## DPO",
        "",
        f"notus DPO loop (notus.train.dpo), beta {dpo['beta']}, loss {dpo['loss_type']}, lr "
        f"{dpo['learning_rate']}, {dpo['max_steps']} steps x batch {dpo['per_device_train_batch_size']}, "
        f"max_length {dpo['max_length']}. Timings: "
        + ", ".join(f"{k} {v}" for k, v in evaluation["timings"].items()),
    ]
    out += [
        "",
        "## Held-out preference accuracy",
        "",
        "Reward accuracy: share of held-out pairs where the DPO implicit reward (against the base model) "
        "prefers the chosen answer; 0 for the base model by definition. Log-prob accuracy: share where the "
        "model alone gives the chosen answer a higher mean per-token log-prob.",
        "",
    ]
    tests = sorted({t for by_test in evaluation["preference"].values() for t in by_test})
    rows = []
    for model, by_test in evaluation["preference"].items():
        cells = [model]
        for t in tests:
            m = by_test.get(t)
            cells.append(f"{m['reward_accuracy']:.3f} ± {m['reward_accuracy_se']:.3f}" if m else "-")
            cells.append(f"{m['logp_accuracy']:.3f} ± {m['logp_accuracy_se']:.3f}" if m else "-")
        rows.append(cells)
    header = ["model"] + [
        f"{k} ({t} pairs, n={evaluation['preference']['base'][t]['n']})"
        for t in tests
        for k in ("reward acc", "log-prob acc")
    ]
    out.append(_table(header, rows))
    out += ["", "## Answers to fixed prompts (greedy)", ""]
    for i, prompt in enumerate(recipe["eval_prompts"]):
        out += [f"### {prompt}", ""]
        for model, answers in evaluation["answers"].items():
            out += [f"**{model}**: " + answers[i].replace("\n", " "), ""]
    return "\n".join(out) + "\n"


def _html(markdown: str, plots: list[tuple[str, str]]) -> str:
    body = []
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        text = html.escape(line)
        text = text.replace("**", "")  # bold markers: keep the text plain
        if line.startswith("### "):
            body.append(f"<h3>{text[4:]}</h3>")
        elif line.startswith("## "):
            body.append(f"<h2>{text[3:]}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{text[2:]}</h1>")
        elif line.strip():
            body.append(f"<p>{text}</p>")
    if in_table:
        body.append("</table>")
    figures = "".join(
        f'<h2>{html.escape(t)}</h2><img alt="{html.escape(t)}" src="{uri}">' for t, uri in plots
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
        "img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width,initial-scale=1'><title>notus report</title><style>{style}</style>"
        f"</head><body>{''.join(body[:1])}{figures}{''.join(body[1:])}</body></html>"
    )


def write_report(run: Path, recipe: dict, stats: dict, evaluation: dict) -> Path:
    markdown = _markdown(recipe, stats, evaluation)
    plots = _plots(run, recipe["strategies"], evaluation)
    (run / "report.md").write_text(markdown, encoding="utf-8")
    (run / "report.html").write_text(_html(markdown, plots), encoding="utf-8")
    return run / "report.md"
