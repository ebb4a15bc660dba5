"""Benchmark: curation of synthetic raw-UltraFeedback rows by notus vs a plain `datasets.map`
implementation of the Notus recipe, and `notus data binarize` of a 1,000,000-row file, in one run.

    PYTHONPATH=src python benchmarks/bench_binarize.py [--rows 64000] [--large 1000000] [--rounds 5]

Rows: seeded synthetic data in the raw schema (4 completions with 4 aspect ratings, some N/A,
rationales, critique and overall_score; ~2 % exact and ~1 % near-duplicate prompts, ~1 % empty
responses).
1. `--rows` rows in memory, `--rounds` rounds, both sides once per round (a slow or fast spell of a
   shared machine reaches both): notus = `notus.data.pipeline.curate` (validate/repair,
   empty/truncated-response filter, exact + MinHash near-duplicate prompts, overall_score bug flags,
   Notus binarization, row accounting); baseline = `Dataset.from_list` + `.map` (mean of the aspect
   ratings, chosen = best, rejected = random strictly lower) + `.filter`: binarization only. Wall
   and CPU time of this process; peak = largest RSS increase, sampled every 10 ms by a thread.
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
from collections.abc import Iterator
from pathlib import Path

ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")


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


def notus_path(rows: list[dict], near_dup: float | None = 0.8) -> tuple[int, str]:
    from notus.data.pipeline import CurateOptions, Loaded, curate

    loaded = Loaded.from_rows(rows, "ultrafeedback", "synthetic")
    result = curate(loaded, CurateOptions(strategy="notus", seed=42, near_dup=near_dup))
    return len(result.rows), result.ledger.summary().splitlines()[0]


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
          "near dedup, bug flags, binarization, ledger; datasets.map = binarization only)")  # fmt: skip
    ratios = []
    for round_ in range(args.rounds):
        (pairs, summary), w_notus, c_notus, m_notus = measure_once(notus_path, rows)
        base_pairs, w_base, c_base, m_base = measure_once(baseline_path, rows)
        ratios.append(w_base / w_notus)
        print(
            f"  round {round_ + 1}: notus curate wall {w_notus:.2f}s cpu {c_notus:.2f}s peak +{m_notus / mb:.0f} MiB"
            f" | datasets.map wall {w_base:.2f}s cpu {c_base:.2f}s peak +{m_base / mb:.0f} MiB"
            f" | ratio wall {w_base / w_notus:.1f}x cpu {c_base / c_notus:.1f}x",
            flush=True,
        )
    print(f"  notus: {pairs} pairs [{summary}]; datasets.map: {base_pairs} pairs")
    print(
        f"  ratio per round: {', '.join(f'{r:.1f}x' for r in ratios)}; min {min(ratios):.1f}x (target >= 10x)"
    )

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
