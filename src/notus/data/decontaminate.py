"""Decontamination: find training prompts that contain benchmark items.

    index = BenchmarkIndex.from_paths(["../shared/data/benchmarks", "../shared/data/mt_bench/question.jsonl"])
    hits = index.match(prompts)        # [{"row", "benchmark", "item_id", "item_text", "match", "overlap"}]
    notus data decontaminate INPUT --against ../shared/data/benchmarks -o hits.jsonl

Benchmark files are recognised by their layout (local copies, or the Hub with `hub:NAME`):
TruthfulQA (`TruthfulQA.csv`, `mc_task.json`), GSM8K (`question`), MMLU csvs (`question`, `choice0`..),
ARC (`question.stem`), HellaSwag (`ctx`), AlpacaEval `model_outputs/*.json` (`instruction`),
MT-Bench `question.jsonl` (each of the two `turns`).
Matching, on normalised text (lower case, punctuation removed, spaces collapsed):
- `exact`: the prompt equals a benchmark item;
- `contains`: the prompt contains a benchmark item of at least 6 words (e.g. a question inside a template);
- `ngram`: the prompt shares >= `min_overlap` (default 0.5) of the item's word `n`-grams (default 8).
Each hit names the benchmark and the item (id and text) it matched.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.data.filters import normalize

HUB_SOURCES = {  # name -> (dataset id, config, split, text field); used when online
    "truthfulqa": ("truthfulqa/truthful_qa", "generation", "validation", "question"),
    "gsm8k": ("openai/gsm8k", "main", "test", "question"),
    "mmlu": ("cais/mmlu", "all", "test", "question"),
    "arc": ("allenai/ai2_arc", "ARC-Challenge", "test", "question"),
    "hellaswag": ("Rowan/hellaswag", None, "validation", "ctx"),
    "alpaca_eval": ("tatsu-lab/alpaca_eval", "alpaca_eval", "eval", "instruction"),
    "mt_bench": ("HuggingFaceH4/mt_bench_prompts", None, "train", "prompt"),
}


@dataclass
class Item:
    benchmark: str
    item_id: str
    text: str


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_benchmark_file(path: Path) -> list[Item]:
    """Items of one benchmark file, recognised by name and layout; [] for files that are not one."""
    name, parent = path.name, path.parent.name
    if name == "TruthfulQA.csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [
                Item("truthfulqa", f"TruthfulQA.csv:{i}", r["Question"])
                for i, r in enumerate(csv.DictReader(fh))
            ]
    if name == "mc_task.json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Item("truthfulqa", f"mc_task.json:{i}", r["question"]) for i, r in enumerate(data)]
    if name.endswith(".csv") and "mmlu" in str(path).lower():
        with path.open(encoding="utf-8", newline="") as fh:
            subject = path.stem
            return [Item("mmlu", f"{subject}:{i}", r["question"]) for i, r in enumerate(csv.DictReader(fh))]
    if name.endswith(".jsonl") and "gsm8k" in str(path).lower():
        return [Item("gsm8k", f"{name}:{i}", r["question"]) for i, r in enumerate(_jsonl(path))]
    if name.endswith(".jsonl") and "arc" in name.lower():
        return [Item("arc", r["id"], r["question"]["stem"]) for r in _jsonl(path)]
    if name.endswith(".jsonl") and "hellaswag" in name.lower():
        return [Item("hellaswag", str(r.get("ind", i)), r["ctx"]) for i, r in enumerate(_jsonl(path))]
    if name == "question.jsonl":  # FastChat MT-Bench
        return [
            Item("mt_bench", f"{r['question_id']}:turn{t + 1}", text)
            for r in _jsonl(path)
            for t, text in enumerate(r["turns"])
        ]
    if name.endswith(".json") and parent == "model_outputs":  # alpaca_eval model outputs
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Item("alpaca_eval", str(i), r["instruction"]) for i, r in enumerate(data)]
    return []


def _load_checked(path: Path) -> list[Item]:
    """`load_benchmark_file` with every way a file can be broken turned into one line naming it."""
    try:
        return load_benchmark_file(path)
    except json.JSONDecodeError as exc:
        why = f"line {exc.lineno}: not valid JSON ({exc.msg})"
    except UnicodeDecodeError as exc:
        why = f"invalid UTF-8 at byte offset {exc.start}"
    except KeyError as exc:
        why = f"an item has no field {exc}"
    except csv.Error as exc:
        why = f"not valid CSV ({exc})"
    except OSError as exc:
        why = f"cannot read it ({exc.strerror or exc})"
    except (TypeError, AttributeError, IndexError, ValueError, RecursionError) as exc:
        why = f"an item of the wrong shape ({type(exc).__name__}: {exc})"
    raise DataError(f"--against {path}: {why}; fix the file or leave it out of --against")


def load_hub_benchmark(name: str) -> list[Item]:
    from datasets import load_dataset

    if name not in HUB_SOURCES:
        raise DataError(f"unknown Hub benchmark {name!r}; choose one of: {', '.join(HUB_SOURCES)}")
    repo, config, split, key = HUB_SOURCES[name]
    try:
        ds = load_dataset(repo, config, split=split)
    except Exception as exc:  # offline or renamed
        raise DataError(
            f"hub:{name}: could not load {repo} ({exc}); pass a local file with --against"
        ) from None
    texts = (r[key]["stem"] if isinstance(r[key], dict) else r[key] for r in ds)
    return [Item(name, str(i), t[0] if isinstance(t, list) else t) for i, t in enumerate(texts)]


@dataclass
class BenchmarkIndex:
    n: int = 8
    min_overlap: float = 0.5
    min_contains_words: int = 6
    items: list[Item] = field(default_factory=list)
    exact: dict[str, list[int]] = field(default_factory=dict)
    grams: dict[int, list[int]] = field(default_factory=dict)
    gram_counts: list[int] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)

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
            found = [item for f in files for item in _load_checked(f)]
            if not found:
                raise DataError(
                    f"--against {p}: no benchmark file recognised (see `notus data decontaminate --help`)"
                )
            index.add(found)
        return index

    def _ngrams(self, words: list[str]) -> set[int]:
        return {hash(tuple(words[i : i + self.n])) for i in range(len(words) - self.n + 1)}

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
            grams = self._ngrams(norm.split())
            self.gram_counts.append(len(grams))
            for g in grams:
                self.grams.setdefault(g, []).append(k)

    def match_one(self, prompt: str) -> list[dict[str, Any]]:
        norm = normalize(prompt)
        if norm in self.exact:  # every benchmark holding this exact text
            return [self._hit(k, "exact", 1.0) for k in self.exact[norm]]
        shared: dict[int, int] = {}
        for g in self._ngrams(norm.split()):
            for k in self.grams.get(g, ()):
                shared[k] = shared.get(k, 0) + 1
        hits = []
        for k, count in shared.items():
            overlap = count / self.gram_counts[k]
            if overlap >= self.min_overlap:
                kind = "contains" if f" {self.norms[k]} " in f" {norm} " else "ngram"
                hits.append(self._hit(k, kind, overlap))
        if not hits:  # short items have no n-grams: look for them inside the prompt
            words = norm.split()
            for size in range(self.min_contains_words, min(len(words), self.n) + 1):
                for i in range(len(words) - size + 1):
                    for k in self.exact.get(" ".join(words[i : i + size]), ()):
                        if self.gram_counts[k] == 0:
                            hits.append(self._hit(k, "contains", 1.0))
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
