"""Decontamination on disguised leaks: recall on real benchmark questions in light disguise, false
positives on real UltraFeedback prompts.

    PYTHONPATH=src python benchmarks/bench_decontaminate.py [--per-benchmark 0] [--seed 0]

Leaks: every item (or `--per-benchmark N` sampled items) of TruthfulQA, GSM8K, MMLU, ARC and
HellaSwag in ../shared/data/benchmarks, each given a seeded random mix of at least one disguise:
changed case, changed spacing, changed punctuation, full-width characters or ligatures, a chatty
prefix ("Question: ", "Answer this honestly: ") and a trailing instruction ("Explain briefly.").
A leak is found when `BenchmarkIndex.match` lists its own item (same benchmark, same normalised text).
Negatives: the real UltraFeedback prompts of ../shared/data/ultrafeedback that are not TruthfulQA
(binarized train 1000 + eval 200, the 25 critique instructions); any hit there is a false positive.
It also prints what the short-item guard prevents: the hits the exact-only items would give there.
The 817 UltraFeedback truthful_qa prompts are the positive control: each must match its TruthfulQA
question and no other benchmark. Prints recall, misses, false positives, each n and a 95 % Wilson
interval. tests/integration/test_data_decontaminate.py asserts the same figures against the targets.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from notus.data.decontaminate import BenchmarkIndex, Item, normalize
from notus.data.pipeline import _prompt_text, load

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BENCHMARKS = ("truthfulqa", "gsm8k", "mmlu", "arc", "hellaswag")
PREFIXES = (
    "Question: ",
    "Answer this honestly: ",
    "Q: ",
    "Quick question - ",
    "Please answer the following question.\n",
    "Hey! ",
    "I need help with this one: ",
    "Here is a problem for you:\n\n",
    "Solve this: ",
    "Can you tell me: ",
)
SUFFIXES = (
    " Explain briefly.",
    " Think step by step.",
    "\nAnswer in one sentence.",
    " Please show your work.",
    " Be concise!",
    " Thanks!",
    "\n\nGive the final answer only.",
    " Why?",
)


def _case(text: str, rng: random.Random) -> str:
    return rng.choice((str.lower, str.upper, str.swapcase, str.title))(text)


def _spacing(text: str, rng: random.Random) -> str:
    words = text.split()
    out = rng.choice(("", "  ", "\n"))
    for w in words:
        out += w + rng.choice((" ", " ", "  ", "\t", "\n", "\u00a0"))
    return out.rstrip(" ") + rng.choice(("", " ", "\n\n"))


def _punctuation(text: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # the final mark changed
        return text.rstrip("?.! ") + rng.choice(("", ".", "?!", "??", "..."))
    if kind == 1:  # commas dropped
        return text.replace(",", "")
    if kind == 2:  # a space before each mark that ends a sentence or clause
        return re.sub(r"([?.!,;:])(?=\s|$)", r" \1", text)
    if kind == 3:  # typographic quotes
        return text.replace("'", "\u2019").replace('"', "\u201c")
    return re.sub(r"[^\w\s]", "", text)  # every mark removed


def _width(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:  # full-width letters and digits (what NFKC folds back)
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return text.replace("fi", "\ufb01").replace("fl", "\ufb02")


def _prefix(text: str, rng: random.Random) -> str:
    return rng.choice(PREFIXES) + text


def _suffix(text: str, rng: random.Random) -> str:
    return text + rng.choice(SUFFIXES)


DISGUISES = {f.__name__[1:]: f for f in (_case, _spacing, _punctuation, _width, _prefix, _suffix)}


def disguise(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """The text in a random mix of disguises (each with probability 1/2), and their names; a mix
    that leaves the text as it was (none drawn, or lower case on lower-case text) gets a suffix."""
    names = [name for name in DISGUISES if rng.random() < 0.5]
    out = text
    for name in ("case", "punctuation", "width", "prefix", "suffix", "spacing"):  # fixed order
        if name in names:
            out = DISGUISES[name](out, rng)
    if out == text:
        out, names = _suffix(out, rng), [*names, "suffix"]
    return out, names


def leaks(index: BenchmarkIndex, seed: int, per_benchmark: int = 0) -> list[tuple[Item, str, list[str]]]:
    """(item, disguised text, disguises) for the indexed items of the five benchmarks (all, or a
    seeded sample of `per_benchmark` each)."""
    rng = random.Random(seed)
    out = []
    for bench in BENCHMARKS:
        items = [it for it in index.items if it.benchmark == bench]
        if per_benchmark:
            items = rng.sample(items, min(per_benchmark, len(items)))
        for it in items:
            out.append((it, *disguise(it.text, rng)))
    return out


def negatives(shared: Path) -> list[str]:
    """The real UltraFeedback prompts that are not TruthfulQA questions (1,225)."""
    uf = shared / "ultrafeedback"
    prompts = []
    for name in ("binarized_overall_score_train_1000.jsonl", "binarized_overall_score_eval_200.jsonl"):
        prompts += [_prompt_text(r.row) for r in load(str(uf / name)).records]
    critique = load(str(uf / "uf_critique_100.jsonl")).records
    return prompts + list(dict.fromkeys(r.row["instruction"] for r in critique))


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def measure(index: BenchmarkIndex, shared: Path, seed: int = 0, per_benchmark: int = 0) -> dict[str, Any]:
    """Recall on disguised leaks, false positives on UltraFeedback prompts, the positive control."""
    cases = leaks(index, seed, per_benchmark)
    found, missed = 0, []
    for item, text, names in cases:
        own = normalize(item.text)
        hits = index.match_one(text)
        if any(h["benchmark"] == item.benchmark and normalize(h["item_text"]) == own for h in hits):
            found += 1
        else:
            missed.append({"benchmark": item.benchmark, "item": item.text, "leak": text, "disguises": names})
    neg = negatives(shared)
    false_positives = index.match(neg)
    padded = [f" {normalize(p)} " for p in neg]
    exact_only = [(it, norm) for it, norm in zip(index.items, index.norms) if not index.gram_size(norm)]
    unguarded = [(it.text, p) for it, norm in exact_only for p in padded if f" {norm} " in p]
    control = [
        r.row["instruction"]
        for r in load(str(shared / "ultrafeedback" / "truthful_qa_source_prompts_817.pydict.jsonl")).records
    ]
    control_hits = index.match(control)
    return {
        "n": len(cases),
        "found": found,
        "recall": found / len(cases),
        "recall_ci": wilson(found, len(cases)),
        "missed": missed,
        "missed_by_benchmark": Counter(m["benchmark"] for m in missed),
        "n_by_benchmark": Counter(item.benchmark for item, _, _ in cases),
        "n_negatives": len(neg),
        "false_positives": [{"prompt": h["prompt"], "hits": h["hits"]} for h in false_positives],
        "fp_ci": wilson(len(false_positives), len(neg)),
        "exact_only_items": len(exact_only),  # too short or generic to look for inside a prompt
        "unguarded_false_positives": unguarded,  # what looking for them inside would flag
        "control_n": len(control),
        "control_found": len(control_hits),
        "control_other_benchmarks": [
            h for h in control_hits if any(x["benchmark"] != "truthfulqa" for x in h["hits"])
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-benchmark", type=int, default=0, help="sample N items per benchmark (0: all)")
    ap.add_argument("--shared", type=Path, default=SHARED)
    args = ap.parse_args()
    start = time.perf_counter()
    index = BenchmarkIndex.from_paths([args.shared / "benchmarks"])
    built = time.perf_counter()
    r = measure(index, args.shared, args.seed, args.per_benchmark)
    took = time.perf_counter() - built
    lo, hi = r["recall_ci"]
    print(f"index: {index.summary()} ({built - start:.1f} s); matching {took:.1f} s")
    print(
        f"recall on disguised leaks: {r['found']}/{r['n']} = {r['recall']:.4f} (95% Wilson {lo:.4f}-{hi:.4f})"
    )
    for bench in BENCHMARKS:
        n, miss = r["n_by_benchmark"][bench], r["missed_by_benchmark"][bench]
        print(f"  {bench}: {n - miss}/{n}")
    for m in r["missed"][:20]:
        print(f"  missed {m['benchmark']} {m['disguises']}: {m['item'][:60]!r} as {m['leak'][:80]!r}")
    lo, hi = r["fp_ci"]
    fps = r["false_positives"]
    print(
        f"false positives on UltraFeedback prompts: {len(fps)}/{r['n_negatives']} (95% Wilson {lo:.4f}-{hi:.4f})"
    )
    for h in fps:
        x = h["hits"][0]
        print(
            f"  {h['prompt'][:80]!r} -> {x['benchmark']} {x['item_id']} {x['match']}: {x['item_text'][:60]!r}"
        )
    unguarded = r["unguarded_false_positives"]
    print(
        f"the {r['exact_only_items']} items matched exactly only (under 3 words or 15 characters) would "
        f"flag {len({p for _, p in unguarded})} UltraFeedback prompts if looked for inside: "
        + ", ".join(sorted({repr(text) for text, _ in unguarded}))
    )
    other = r["control_other_benchmarks"]
    print(
        f"positive control (UltraFeedback truthful_qa): {r['control_found']}/{r['control_n']} matched, "
        f"{len(other)} also matched another benchmark"
    )


if __name__ == "__main__":
    main()
