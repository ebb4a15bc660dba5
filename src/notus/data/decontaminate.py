"""Decontamination: find training prompts that contain benchmark items, even lightly disguised.

    index = BenchmarkIndex.from_paths(["../shared/data/benchmarks", "../shared/data/mt_bench/question.jsonl"])
    hits = index.match(prompts)        # [{"row", "prompt", "hits": [{"benchmark", "item_id", ...}]}]
    notus data decontaminate INPUT --against ../shared/data/benchmarks -o hits.jsonl

Benchmark files are recognised by their layout (local copies, or the Hub with `hub:NAME`) and read
with `notus.data.readers` (errors name file:line): TruthfulQA (`TruthfulQA.csv`, `mc_task.json`),
GSM8K (`question`), MMLU csvs (`question`, `choice0`..), ARC (`question.stem`), HellaSwag (`ctx`),
AlpacaEval `model_outputs/*.json` (`instruction`), MT-Bench `question.jsonl` (each of the two `turns`).

The rule. Prompts and items are normalised (`normalize`: Unicode NFKC, case folding, apostrophes and
in-word hyphens/points removed, every other run of punctuation/space one space), so a change of
case, spacing, punctuation or character width does not hide an item. An item of L words is indexed
by its word k-grams, k = min(n, L) (n = 8 by default), and a prompt matches it when it holds at
least `min_overlap` (0.5) of them:
- `exact`: the prompt equals the item (every benchmark holding that text is listed);
- `contains`: the whole item is in the prompt at word boundaries (a question behind "Question: " or
  before "Explain briefly."); for an item shorter than n words this is the only match;
- `ngram`: the prompt shares >= `min_overlap` of the item's n-grams (an edited long item).
Items shorter than `MIN_CONTAINED_WORDS` words or `MIN_CONTAINED_CHARS` normalised characters
("Who are you?", "The pleura", "Inflation") are too generic to find inside other text: they match
exactly only. `benchmarks/bench_decontaminate.py` measures the rule on disguised leaks (recall) and
on real UltraFeedback prompts (false positives).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.data.readers import Record, read_rows

HUB_SOURCES = {  # name -> (dataset id, config, split, text field); used when online
    "truthfulqa": ("truthfulqa/truthful_qa", "generation", "validation", "question"),
    "gsm8k": ("openai/gsm8k", "main", "test", "question"),
    "mmlu": ("cais/mmlu", "all", "test", "question"),
    "arc": ("allenai/ai2_arc", "ARC-Challenge", "test", "question"),
    "hellaswag": ("Rowan/hellaswag", None, "validation", "ctx"),
    "alpaca_eval": ("tatsu-lab/alpaca_eval", "alpaca_eval", "eval", "instruction"),
    "mt_bench": ("HuggingFaceH4/mt_bench_prompts", None, "train", "prompt"),
}
MIN_CONTAINED_WORDS = 3  # shorter items match exactly only (measured: see the module docstring)
MIN_CONTAINED_CHARS = 15
# removed, not turned into a space: apostrophes ("what's" = "what’s" = "whats"), a hyphen or a point
# inside a word ("well-known" = "wellknown", "U.S." = "us"), any one mark between digits ("1,200" =
# "1200", "3.5" = "35", "1/5" = "15"), so text with its punctuation stripped still matches
JOINERS = re.compile(r"['`\u2018\u2019\u02bc\u00b4]|(?<=\w)[-.\u2010](?=\w)|(?<=\d)[^\w\s](?=\d)")
SEPARATORS = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """NFKC, case folded, `JOINERS` removed, every other run of punctuation or space one space:
    "  What’s ＴＨＥ well-known capital , of France?!" -> "whats the wellknown capital of france"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return SEPARATORS.sub(" ", JOINERS.sub("", text)).strip()


@dataclass
class Item:
    benchmark: str
    item_id: str
    text: str


# file layout -> (benchmark, texts of one row: [(item id, text)] from the row and its 0-based index)
Texts = Callable[[dict[str, Any], int], list[tuple[str, Any]]]


def _layout(path: Path) -> tuple[str, Texts] | None:
    name, lower = path.name, str(path).lower()
    if name == "TruthfulQA.csv":
        return "truthfulqa", lambda r, i: [(f"{name}:{i}", r["Question"])]
    if name == "mc_task.json":
        return "truthfulqa", lambda r, i: [(f"{name}:{i}", r["question"])]
    if name.endswith(".csv") and "mmlu" in lower:
        return "mmlu", lambda r, i: [(f"{path.stem}:{i}", r["question"])]
    if name.endswith(".jsonl") and "gsm8k" in lower:
        return "gsm8k", lambda r, i: [(f"{name}:{i}", r["question"])]
    if name.endswith(".jsonl") and "arc" in name.lower():
        return "arc", lambda r, i: [(r["id"], r["question"]["stem"])]
    if name.endswith(".jsonl") and "hellaswag" in name.lower():
        return "hellaswag", lambda r, i: [(str(r.get("ind", i)), r["ctx"])]
    if name == "question.jsonl":  # FastChat MT-Bench
        return "mt_bench", lambda r, i: [
            (f"{r['question_id']}:turn{t + 1}", x) for t, x in enumerate(r["turns"])
        ]
    if name.endswith(".json") and path.parent.name == "model_outputs":  # alpaca_eval model outputs
        return "alpaca_eval", lambda r, i: [(str(i), r["instruction"])]
    return None


def _records(path: Path) -> list[Record]:
    """The file's rows through the one reader; a row it cannot read is an error naming file:line."""
    try:
        return read_rows(path)
    except DataError as exc:
        raise DataError(f"--against {exc} (or leave the file out of --against)") from None


def load_benchmark_file(path: Path) -> list[Item]:
    """Items of one benchmark file, recognised by name and layout; [] for files that are not one."""
    layout = _layout(path)
    if layout is None:
        return []
    benchmark, texts = layout
    items = []
    for i, rec in enumerate(_records(path)):
        try:
            pairs = texts(rec.row, i)
            bad = [text for _, text in pairs if not isinstance(text, str)]
            if bad:
                raise TypeError(f"the text is a {type(bad[0]).__name__}")
        except KeyError as exc:
            why = f"an item has no field {exc}"
        except (TypeError, AttributeError, IndexError, ValueError) as exc:
            why = f"an item of the wrong shape ({type(exc).__name__}: {exc})"
        else:
            items += [Item(benchmark, str(item_id), text) for item_id, text in pairs]
            continue
        raise DataError(f"--against {rec.file}:{rec.line}: {why}; fix the file or leave it out of --against")
    return items


def load_hub_benchmark(name: str) -> list[Item]:
    if name not in HUB_SOURCES:
        raise DataError(f"unknown Hub benchmark {name!r}; choose one of: {', '.join(HUB_SOURCES)}")
    repo, config, split, key = HUB_SOURCES[name]
    try:
        records = read_rows(repo, split, config)
    except DataError as exc:  # offline or renamed
        raise DataError(f"hub:{name}: {exc}; pass a local file with --against") from None
    texts = (r.row[key]["stem"] if isinstance(r.row[key], dict) else r.row[key] for r in records)
    return [Item(name, str(i), t[0] if isinstance(t, list) else t) for i, t in enumerate(texts)]


@dataclass
class BenchmarkIndex:
    n: int = 8
    min_overlap: float = 0.5
    items: list[Item] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    exact: dict[str, list[int]] = field(default_factory=dict)
    grams: dict[int, list[int]] = field(default_factory=dict)  # hash of a word k-gram -> items
    gram_counts: list[int] = field(default_factory=list)
    sizes: set[int] = field(default_factory=set)  # the k of every indexed item

    @classmethod
    def from_paths(cls, paths: list[str | Path], n: int = 8, min_overlap: float = 0.5) -> BenchmarkIndex:
        index = cls(n=n, min_overlap=min_overlap)
        for spec in paths:
            if str(spec).startswith("hub:"):
                index.add(load_hub_benchmark(str(spec)[4:]))
                continue
            p = Path(spec)
            if not p.exists():
                raise DataError(f"--against {p}: no such file or folder")
            files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
            found = [item for f in files for item in load_benchmark_file(f)]
            if not found:
                raise DataError(
                    f"--against {p}: no benchmark file recognised (see `notus data decontaminate --help`)"
                )
            index.add(found)
        return index

    @staticmethod
    def _grams(words: list[str], k: int) -> set[int]:
        return {hash(tuple(words[i : i + k])) for i in range(len(words) - k + 1)}

    def gram_size(self, norm: str) -> int:
        """k for an item: n, or its whole length when shorter; 0 (exact only) when too generic."""
        words = norm.count(" ") + 1
        if words >= self.n:
            return self.n
        return words if words >= MIN_CONTAINED_WORDS and len(norm) >= MIN_CONTAINED_CHARS else 0

    def add(self, items: list[Item]) -> None:
        seen = {(it.benchmark, t) for it, t in zip(self.items, self.norms)}
        for item in items:
            norm = normalize(item.text)
            if not norm or (item.benchmark, norm) in seen:
                continue  # the same question in two files of one benchmark is indexed once
            seen.add((item.benchmark, norm))
            k = len(self.items)
            self.items.append(item)
            self.norms.append(norm)
            self.exact.setdefault(norm, []).append(k)
            size = self.gram_size(norm)
            grams = self._grams(norm.split(), size) if size else set()
            self.gram_counts.append(len(grams))
            if grams:
                self.sizes.add(size)
            for g in grams:
                self.grams.setdefault(g, []).append(k)

    def match_one(self, prompt: str) -> list[dict[str, Any]]:
        norm = normalize(prompt)
        if norm in self.exact:  # every benchmark holding this exact text
            return [self._hit(k, "exact", 1.0) for k in self.exact[norm]]
        words = norm.split()
        shared: dict[int, int] = {}
        for size in self.sizes:
            for g in self._grams(words, size):
                for k in self.grams.get(g, ()):
                    shared[k] = shared.get(k, 0) + 1
        hits = []
        padded = f" {norm} "
        for k, count in shared.items():
            overlap = count / self.gram_counts[k]
            if overlap >= self.min_overlap:
                kind = "contains" if f" {self.norms[k]} " in padded else "ngram"
                hits.append(self._hit(k, kind, overlap))
        return sorted(hits, key=lambda h: -h["overlap"])

    def _hit(self, k: int, kind: str, overlap: float) -> dict[str, Any]:
        item = self.items[k]
        return {
            "benchmark": item.benchmark,
            "item_id": item.item_id,
            "item_text": item.text,
            "match": kind,
            "overlap": round(overlap, 3),
        }

    def match(self, prompts: list[str], progress: bool = False) -> list[dict[str, Any]]:
        """One record per contaminated prompt: its row index and every benchmark item it matched."""
        from tqdm import tqdm

        out = []
        for i, prompt in enumerate(tqdm(prompts, desc="decontaminate", unit="row", disable=not progress)):
            hits = self.match_one(prompt)
            if hits:
                out.append({"row": i, "prompt": prompt[:300], "hits": hits})
        return out

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.benchmark] = counts.get(item.benchmark, 0) + 1
        return counts
