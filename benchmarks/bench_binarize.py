"""Benchmark: curation of synthetic raw-UltraFeedback rows by notus vs plain `datasets`
implementations (binarization only, and the same curation), and `notus data binarize` of a
1,000,000-row file, in one run.

    PYTHONPATH=src python benchmarks/bench_binarize.py [--rows 64000] [--large 1000000] [--rounds 5]

Rows: seeded synthetic data in the raw schema (4 completions with 4 aspect ratings, some N/A,
rationales, critique and overall_score; ~2 % exact and ~1 % near-duplicate prompts, ~1 % empty
responses).
1. `--rows` rows in memory, `--rounds` rounds, the three sides once per round (a slow or fast spell
   of a shared machine reaches all): notus = `notus.data.pipeline.curate` (validate/repair,
   empty/truncated-response filter, empty prompts, exact + MinHash near-duplicate prompts,
   overall_score bug flags, Notus binarization, row accounting); two `datasets` baselines:
   - datasets.map (`baseline_path`): `Dataset.from_list` + `.map` (mean of the aspect ratings,
     chosen = best, rejected = random strictly lower) + `.filter`: binarization only;
   - datasets same work (`baseline_same_work`): the same curation as notus written with `datasets`
     `.map`/`.filter` of plain Python rules, a set of normalised prompts and datasketch `MinHash` +
     `MinHashLSH` (pip install datasketch; the `dev` extra); its pairs and counts per reason are
     checked against notus's ledger (near duplicates may differ by a few: other MinHash hashes).
   Wall and CPU time of this process; peak = largest RSS increase, sampled every 10 ms by a thread;
   the ratios are baseline time / notus time.
2. Equivalence: 20,000 rows curated from a file in 7 parts give the same pairs and ledger as one part.
3. `notus data binarize FILE.jsonl` (the CLI, streaming the file in parts) on `--rows` and `--large`
   rows, each in a fresh process: wall time, peak RSS of that process (VmHWM), and the scaling.
   The files are written once into `--folder` (1M rows: about 4 GB) and reused.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasets import Dataset

ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")
PAIR_COLUMNS = ("no_pair", "prompt", "chosen", "rejected", "score_chosen", "score_rejected", "margin", "source",
                "strategy", "chosen_index", "rejected_index", "chosen_model", "rejected_model", "chosen_ratings",
                "rejected_ratings", "chosen_overall_score", "rejected_overall_score", "score_bug")  # fmt: skip


def iter_synthetic(n: int, seed: int) -> Iterator[dict]:
    """Seeded synthetic raw-UltraFeedback rows, one at a time (only the prompts are remembered, for
    the duplicates)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    prompts: list[str] = []
    for i in range(n):
        if prompts and rng.random() < 0.02:  # exact duplicate prompt
            instruction = rng.choice(prompts)
        elif prompts and rng.random() < 0.01:  # near duplicate: one word changed
            words = rng.choice(prompts).split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            instruction = " ".join(words)
        else:
            instruction = " ".join(rng.choices(vocab, k=rng.randint(12, 60)))
        prompts.append(instruction)
        completions = []
        for _ in range(4):
            ratings = {a: ("N/A" if rng.random() < 0.05 else str(rng.randint(1, 5))) for a in ASPECTS}
            response = (
                "" if rng.random() < 0.01 else " ".join(rng.choices(vocab, k=rng.randint(20, 120))) + "."
            )
            completions.append(
                {
                    "model": f"model-{rng.randrange(17)}",
                    "principle": "helpfulness",
                    "custom_system_prompt": "",
                    "response": response,
                    "annotations": {
                        a: {"Rating": r, "Rationale": "The text is accurate and clear."}
                        for a, r in ratings.items()
                    },
                    "critique": "A fine answer with minor issues.",
                    "overall_score": float(rng.randint(1, 10)),
                    "fine-grained_score": None,
                }
            )
        yield {
            "source": "synthetic",
            "instruction": instruction,
            "models": [c["model"] for c in completions],
            "completions": completions,
            "correct_answers": [],
            "incorrect_answers": [],
            "id": i,
        }


def synthetic_rows(n: int, seed: int) -> list[dict]:
    return list(iter_synthetic(n, seed))


def synthetic_file(n: int, seed: int, folder: Path) -> Path:
    """The rows of `iter_synthetic` as a JSON lines file (written once, then reused)."""
    path = folder / f"synthetic_uf_{n}_{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            for row in iter_synthetic(n, seed):
                fh.write(json.dumps(row) + "\n")
        tmp.rename(path)
    return path


class PeakRSS:
    """Largest RSS increase (bytes) while the block runs, sampled by a thread."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss() - self.start)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.start = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss() - self.start)


def notus_path(rows: list[dict], near_dup: float | None = 0.8):
    """`notus.data.pipeline.curate` of the rows: a `CurateResult` (pairs, ledger)."""
    from notus.data.pipeline import CurateOptions, Loaded, curate

    loaded = Loaded.from_rows(rows, "ultrafeedback", "synthetic")
    return curate(loaded, CurateOptions(strategy="notus", seed=42, near_dup=near_dup))


def baseline_path(rows: list[dict]) -> int:
    """The Notus recipe written the straightforward way with `datasets`."""
    from datasets import Dataset

    def mean_rating(completion: dict) -> float | None:
        values = [
            float(a["Rating"]) for a in completion["annotations"].values() if a and a["Rating"] != "N/A"
        ]
        return sum(values) / len(values) if values else None

    def binarize(example: dict, idx: int) -> dict:
        rng = random.Random(42 + idx)
        scores = [mean_rating(c) for c in example["completions"]]
        rated = [(i, s) for i, s in enumerate(scores) if s is not None]
        empty = {
            "prompt": None,
            "chosen": None,
            "rejected": None,
            "score_chosen": None,
            "score_rejected": None,
        }
        if len(rated) < 2:
            return empty
        best = max(s for _, s in rated)
        chosen = next(i for i, s in rated if s == best)
        lower = [i for i, s in rated if s < best]
        if not lower:
            return empty
        rejected = rng.choice(lower)
        c, r = example["completions"][chosen], example["completions"][rejected]
        return {
            "prompt": [{"role": "user", "content": example["instruction"]}],
            "chosen": [{"role": "assistant", "content": c["response"]}],
            "rejected": [{"role": "assistant", "content": r["response"]}],
            "score_chosen": scores[chosen],
            "score_rejected": scores[rejected],
        }

    ds = Dataset.from_list(rows)
    ds = ds.map(binarize, with_indices=True, remove_columns=ds.column_names, desc="baseline map")
    ds = ds.filter(lambda x: x["chosen"] is not None, desc="baseline filter")
    return len(ds)


def baseline_same_work(rows: list[dict], seed: int = 42, near: float = 0.8) -> tuple[Dataset, dict]:
    """The same curation as `notus_path`, written the straightforward way with `datasets`: a plain
    Python function per rule (validate.py, filters.py, dedup.py, binarize.py), applied with `.map`
    and `.filter`; a set of normalised prompts for exact duplicates and datasketch `MinHash` +
    `MinHashLSH` (3-grams, 32 permutations, 8 bands of 4, Jaccard >= `near`) for near ones. Returns
    the pairs and the counts: rows in/out, quarantined, filtered per reason, repairs, completions
    removed. (A missing aspect and a null one read alike from Arrow; the synthetic rows have neither.)

    `batched=True` everywhere: the rules are per-row Python either way, and a batch per call (1,000
    rows) saves the per-example call and formatting: a map over the completions ran 2.7-3.5x faster
    batched than per example here.
    Filters that only need the prompt read it alone (`input_columns`), so the nested completions
    are not turned into Python objects for them."""
    import re

    from datasets import Dataset
    from datasketch import MinHash, MinHashLSH

    na = {"n/a", "na", "none", "null", ""}
    filtered, repairs, removed = Counter(), Counter(), Counter()

    def fix_rating(value, found: Counter) -> str:  # "1".."5" or "N/A"; ValueError otherwise
        if value is None or (isinstance(value, str) and value.strip().lower() in na):
            found.update(["N/A spelled differently -> N/A"] if value != "N/A" else [])
            return "N/A"
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"rating {value!r} is not 1-5 or N/A") from None
        if not 1 <= number <= 5 or number != int(number):  # NaN and infinities fail too
            raise ValueError(f"rating {value!r} is outside 1-5")
        fixed = str(int(number))
        found.update(["rating written as number/padded text -> '1'..'5'"] if value != fixed else [])
        return fixed

    def fix_score(value, found: Counter) -> float | None:  # a number in 1-10 or None; ValueError otherwise
        if isinstance(value, bool):
            raise ValueError(f"overall_score {value!r} is a boolean")
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"overall_score {value!r} is not a number") from None
        if not 1 <= number <= 10:
            raise ValueError(f"overall_score {value!r} is outside 1-10")
        found.update(["overall_score written as text -> number"] if isinstance(value, str) else [])
        return number

    def fix_completion(c, found: Counter) -> dict:
        if not isinstance(c, dict) or not isinstance(c.get("response"), str):
            raise ValueError("a completion without a text response")
        annotations = c.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise ValueError("annotations is not an object")
        fixed = {}
        for aspect, value in annotations.items():
            entry = dict(value) if isinstance(value, dict) else {"Rating": value}
            entry["Rating"] = fix_rating(entry.get("Rating"), found)
            fixed[aspect] = entry
        return {**c, "annotations": fixed, "overall_score": fix_score(c.get("overall_score"), found)}

    seen_ids: dict = {}  # id -> its instruction

    def validate(batch: dict) -> dict:
        """Repair what a rule repairs; `reject` says why a row is quarantined (None: kept)."""
        out: dict[str, list] = {"completions": [], "source": [], "reject": []}
        ids = batch.get("id", batch.get("prompt_id", [None] * len(batch["instruction"])))
        sources = batch.get("source", [None] * len(ids))
        for instruction, completions, row_id, source in zip(
            batch["instruction"], batch["completions"], ids, sources
        ):
            found, reason = Counter(), None  # this row's repairs, counted if it is kept
            try:
                if not isinstance(instruction, str):
                    raise ValueError("instruction is not text")
                if not isinstance(completions, list):
                    raise ValueError("completions is not a list")
                completions = [fix_completion(c, found) for c in completions]
                if row_id is not None and seen_ids.setdefault(row_id, instruction) != instruction:
                    raise ValueError(f"id {row_id!r} already used for another instruction")
            except ValueError as exc:
                reason, completions = str(exc), []
            if reason is None:
                repairs.update(found + Counter(["missing source -> ''"] if source is None else []))
            out["completions"].append(completions)
            out["source"].append(source or "")
            out["reject"].append(reason)
        return out

    def response_problem(text: str) -> str | None:
        stripped = text.rstrip()
        if not stripped:
            return "empty response"
        if stripped.count("```") % 2 == 1 or stripped.endswith(tuple(",:([{-")):
            return "truncated response"
        return None

    def drop_bad_responses(completions: list[dict]) -> list[dict]:
        problems = [response_problem(c["response"]) for c in completions]
        removed.update(p for p in problems if p)
        return [c for c, p in zip(completions, problems) if p is None]

    def clean(batch: dict) -> dict:
        """Validation, then the empty/truncated completions of the rows kept removed."""
        out = validate(batch)
        out["completions"] = list(map(drop_bad_responses, out["completions"]))
        return out

    def normalize(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.lower()))

    seen_prompts: set[str] = set()

    def first_prompt(prompts: list[str]) -> list[bool]:
        keep = []
        for key in map(normalize, prompts):
            keep.append(key not in seen_prompts)
            seen_prompts.add(key)
        return keep

    lsh = MinHashLSH(num_perm=32, params=(8, 4))
    grams: list[set[str]] = []  # the 3-grams of each prompt kept so far (its key in `lsh`)

    def not_near(prompts: list[str]) -> list[bool]:
        batch = []
        for text in prompts:
            words = normalize(text).split()
            batch.append({" ".join(words[k : k + 3]) for k in range(max(len(words) - 2, 1))})
        signatures = MinHash.generator([[g.encode() for g in s] for s in batch], num_perm=32, seed=1)
        keep = []
        for mine, m in zip(batch, signatures):
            similar = any(len(mine & grams[j]) / len(mine | grams[j]) >= near for j in sorted(lsh.query(m)))
            keep.append(not similar)
            if not similar:
                lsh.insert(len(grams), m)
                grams.append(mine)
        return keep

    def mean_rating(c: dict) -> float | None:  # the aspects rated (N/A left out), None if none
        values = [float(a["Rating"]) for a in c["annotations"].values() if a and a["Rating"] != "N/A"]
        return sum(values) / len(values) if values else None

    def score_bug(completions: list[dict], scores: list[float | None]) -> bool:
        """Does a completion's critique score (1-10) contradict its aspect mean (1-5) by >= 2.5?"""
        return any(
            c["overall_score"] is not None and s is not None and abs(c["overall_score"] / 2 - s) >= 2.5
            for c, s in zip(completions, scores)
        )

    rng = random.Random(seed)  # one generator, row after row (the map runs in one process, in order)

    def ratings(c: dict) -> dict:
        return {
            a: None if e is None or e["Rating"] == "N/A" else float(e["Rating"])
            for a, e in c["annotations"].items()
        }

    def binarize(batch: dict) -> dict:
        """chosen = the first best score, rejected = a random strictly lower one; `no_pair`: why not.
        Each pair carries its row's `score_bug` flag."""
        out: dict[str, list] = {key: [] for key in PAIR_COLUMNS}
        for k, completions in enumerate(batch["completions"]):
            scores = [mean_rating(c) for c in completions]
            rated = [(i, s) for i, s in enumerate(scores) if s is not None]
            best = max((s for _, s in rated), default=None)
            lower = [i for i, s in rated if s < best]
            if len(rated) < 2 or not lower:
                out["no_pair"].append(
                    "fewer than two rated completions" if len(rated) < 2 else "all completions tied"
                )
                for key in PAIR_COLUMNS[1:]:
                    out[key].append(None)
                continue
            chosen = next(i for i, s in rated if s == best)
            rejected = rng.choice(lower)
            c, r = completions[chosen], completions[rejected]
            out["no_pair"].append(None)
            out["prompt"].append([{"role": "user", "content": batch["instruction"][k]}])
            out["chosen"].append([{"role": "assistant", "content": c["response"]}])
            out["rejected"].append([{"role": "assistant", "content": r["response"]}])
            out["score_chosen"].append(best)
            out["score_rejected"].append(scores[rejected])
            out["margin"].append(best - scores[rejected])
            out["source"].append(batch["source"][k])
            out["strategy"].append("notus")
            out["chosen_index"].append(chosen)
            out["rejected_index"].append(rejected)
            out["chosen_model"].append(c["model"])
            out["rejected_model"].append(r["model"])
            out["chosen_ratings"].append(ratings(c))
            out["rejected_ratings"].append(ratings(r))
            out["chosen_overall_score"].append(c["overall_score"])
            out["rejected_overall_score"].append(r["overall_score"])
            out["score_bug"].append(score_bug(completions, scores))
        return out

    def count(ds: Dataset, reason: str, fn, columns: list[str]) -> Dataset:
        """`ds.filter(fn)` (batched, on `columns`), the rows it drops counted under `reason`."""
        kept = ds.filter(fn, batched=True, input_columns=columns)
        if len(kept) < len(ds):
            filtered[reason] += len(ds) - len(kept)
        return kept

    ds = Dataset.from_list(rows)
    rows_in = len(ds)
    # Every `.map` writes every column again (the nested completions too: most of a map's time), so
    # the rules that change completions share one map, and the bug flag is made in the binarization
    # map, where the pairs are written. One map per rule (validate, drop, flag) took 2x as long.
    ds = ds.map(clean, batched=True)
    quarantined = sum(r is not None for r in ds["reject"])
    ds = ds.filter(lambda reasons: [r is None for r in reasons], batched=True, input_columns=["reject"])
    ds = count(ds, "empty prompt", lambda ps: [p.strip() != "" for p in ps], ["instruction"])
    ds = count(ds, "duplicate prompt", first_prompt, ["instruction"])
    ds = count(ds, "near-duplicate prompt", not_near, ["instruction"])
    ds = ds.map(binarize, batched=True, remove_columns=ds.column_names)
    filtered.update(Counter(r for r in ds["no_pair"] if r is not None))
    ds = ds.filter(lambda reasons: [r is None for r in reasons], batched=True, input_columns=["no_pair"])
    ds = ds.remove_columns("no_pair")
    counts = {
        "rows_in": rows_in,
        "rows_out": len(ds),
        "filtered": dict(filtered),
        "quarantined": quarantined,
        "repairs": dict(repairs),
        "completions_removed": dict(removed),
    }
    return ds, counts


def same_pairs(ours: list[dict], theirs: list[dict]) -> bool:
    """Do both sides make the same pairs (prompt, chosen, rejected and bug flag), in the same order?"""

    def key(pair: dict) -> tuple:
        return (pair["prompt"][-1]["content"], pair["chosen"][0]["content"], pair["rejected"][0]["content"],
                pair["score_bug"])  # fmt: skip

    return list(map(key, ours)) == list(map(key, theirs))


def measure_once(fn, rows):
    """(result, wall seconds, CPU seconds of this process, peak RSS increase) of one run."""
    with PeakRSS() as mem:
        start, cpu = time.perf_counter(), time.process_time()
        out = fn(rows)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return out, seconds, cpu, mem.peak


CLI_RUN = """import sys, time
from notus.cli.main import main
start = time.perf_counter()
code = main(sys.argv[1:])
seconds = time.perf_counter() - start
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"BENCH {code} {seconds:.3f} {peak}")
"""  # VmHWM, not ru_maxrss: after fork + exec, ru_maxrss still counts the parent's peak (here 1.6 GB)


def cli_binarize(path: Path, out: Path) -> tuple[float, int, str]:
    """`notus data binarize` of a file in a fresh process: (seconds, peak RSS bytes, ledger line)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", CLI_RUN, "data", "binarize", str(path), "-o", str(out), "--strategy", "notus"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    bench = [line for line in lines if line.startswith("BENCH ")]
    if done.returncode or not bench or bench[-1].split()[1] != "0":
        raise SystemExit(f"notus data binarize {path} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    _, _, seconds, kib = bench[-1].split()
    ledger = next((line for line in lines if line.startswith("rows in")), "")
    return float(seconds), int(kib) * 1024, ledger


def equivalence(rows: list[dict]) -> bool:
    """The same pairs, ledger and rejects whether the input is curated as one part or in parts."""
    from notus.data.pipeline import CurateOptions, curate, curate_file, load

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        whole = curate(load(str(path)), CurateOptions(seed=42))
        curation, parts = curate_file(str(path), opts=CurateOptions(seed=42), size=len(rows) // 7 + 1)
        streamed = list(parts)
        result = curation.finish(len(streamed))
    return whole.rows == streamed and whole.ledger.as_dict() == result.ledger.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64000)
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="rows of the file curated in one process"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the synthetic files are kept")
    args = parser.parse_args()
    mb = 1024 * 1024
    import datasets  # both sides' imports happen before any timing

    datasets.disable_progress_bars()  # the printed figures, not progress bars, are the output

    import notus.data.pipeline  # noqa: F401

    t = time.perf_counter()
    rows = synthetic_rows(args.rows, args.seed)
    print(f"generated {len(rows)} synthetic raw-schema rows in {time.perf_counter() - t:.1f}s", flush=True)

    print(f"\n1. {len(rows)} rows in memory, {args.rounds} rounds (notus curate = validation, filters, exact + "
          "near dedup, bug flags, binarization, ledger; datasets.map = binarization only; datasets same work = "
          "the same curation with datasets .map/.filter + datasketch)")  # fmt: skip
    ratios: dict[str, list[float]] = {"binarize-only": [], "same work": []}
    for round_ in range(args.rounds):
        result, w_notus, c_notus, m_notus = measure_once(notus_path, rows)
        base_pairs, w_base, c_base, m_base = measure_once(baseline_path, rows)
        (same, counts), w_same, c_same, m_same = measure_once(baseline_same_work, rows)
        ratios["binarize-only"].append(w_base / w_notus)
        ratios["same work"].append(w_same / w_notus)
        print(
            f"  round {round_ + 1}: notus curate wall {w_notus:.2f}s cpu {c_notus:.2f}s peak +{m_notus / mb:.0f} MiB"
            f" | datasets.map wall {w_base:.2f}s cpu {c_base:.2f}s peak +{m_base / mb:.0f} MiB"
            f" | datasets same work wall {w_same:.2f}s cpu {c_same:.2f}s peak +{m_same / mb:.0f} MiB"
            f" | ratios wall {w_base / w_notus:.1f}x, {w_same / w_notus:.1f}x"
            f" cpu {c_base / c_notus:.1f}x, {c_same / c_notus:.1f}x",
            flush=True,
        )
    ledger = result.ledger
    print(f"  notus: {len(result.rows)} pairs [{ledger.summary().splitlines()[0]}]")
    print(f"  datasets.map (binarization only): {base_pairs} pairs")
    print(f"  datasets same work: {counts['rows_out']} pairs [rows in {counts['rows_in']}, filtered "
          f"{counts['filtered']}, quarantined {counts['quarantined']}]")  # fmt: skip
    ours = {"rows_in": ledger.rows_in, "rows_out": ledger.rows_out, "filtered": dict(ledger.filtered),
            "quarantined": ledger.quarantined, "repairs": dict(ledger.repairs),
            "completions_removed": dict(result.completions_removed)}  # fmt: skip
    for key, value in ours.items():
        if key == "filtered":
            for reason in sorted(set(value) | set(counts[key])):
                mine, theirs = value.get(reason, 0), counts[key].get(reason, 0)
                print(f"    filtered {reason}: notus {mine} | same work {theirs} | equal: {mine == theirs}")
        else:
            print(f"    {key}: notus {value} | same work {counts[key]} | equal: {value == counts[key]}")
    print("    (near duplicates: the two MinHash/LSH draw different hashes, so may differ by a few)")
    print(
        f"    the same pairs (prompt, chosen, rejected, score_bug): {same_pairs(result.rows, same.to_list())}"
    )
    for name, values in ratios.items():
        target = " (target >= 10x)" if name == "binarize-only" else ""
        print(f"  ratio {name} / notus per round: {', '.join(f'{r:.1f}x' for r in values)}; "
              f"min {min(values):.1f}x{target}")  # fmt: skip

    n_eq = min(20000, len(rows))
    print(f"\n2. equivalence, {n_eq} rows: curated in 7 parts == as one part: {equivalence(rows[:n_eq])}")
    del rows
    gc.collect()

    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n3. `notus data binarize FILE.jsonl` in one process (files in {folder})", flush=True)
    timings = {}
    for n in (args.rows, args.large):
        t = time.perf_counter()
        path = synthetic_file(n, args.seed, folder)
        print(
            f"  {path.name}: {path.stat().st_size / 2**30:.2f} GiB ({time.perf_counter() - t:.0f}s to write or find)"
        )
        with tempfile.TemporaryDirectory(dir=folder) as out:
            seconds, rss, ledger = cli_binarize(path, Path(out) / "pairs.jsonl")
        timings[n] = seconds
        print(
            f"  {n:>8} rows: {seconds:7.1f}s, {n / seconds:,.0f} rows/s, peak RSS {rss / 2**30:.2f} GiB [{ledger}]",
            flush=True,
        )
    small, large = args.rows, args.large
    print(f"  scaling {small} -> {large} rows (x{large / small:.1f}): time x{timings[large] / timings[small]:.1f} "
          f"(linear = x{large / small:.1f}); peak RSS target <= 3 GiB")  # fmt: skip


if __name__ == "__main__":
    main()
