"""Benchmark: near-duplicate prompts with notus's MinHash/LSH (`notus.data.dedup.DuplicateIndex`) vs
datasketch's (`MinHash` + `MinHashLSH`), the same settings (word 3-grams, 32 permutations, 8 bands
of 4), on the prompts of `bench_binarize.py`'s synthetic rows, in one process.

    pip install datasketch   # only for this comparison; notus does not depend on it
    PYTHONPATH=src python benchmarks/bench_dedup.py [--rows 64000]

datasketch side: one `MinHash.update_batch` per prompt (its 3-grams as UTF-8 bytes), `MinHashLSH`
insert of every prompt and a query before it (candidates = earlier prompts sharing a band); the
exact Jaccard confirms a candidate as notus does. Exact duplicates are left to both by the same
normalised-text set, outside the timing. Prints the CPU seconds and the pairs each side finds.
"""

from __future__ import annotations

import argparse
import time

from bench_binarize import synthetic_rows

from notus.data.dedup import DuplicateIndex
from notus.data.filters import normalize


def datasketch_near(prompts: list[str], near: float = 0.8) -> int:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=32, params=(8, 4))
    grams: list[set[str]] = []
    dropped = 0
    for i, text in enumerate(prompts):
        words = normalize(text).split()
        mine = {" ".join(words[k : k + 3]) for k in range(max(len(words) - 2, 1))}
        grams.append(mine)
        m = MinHash(num_perm=32, seed=1)
        m.update_batch([g.encode() for g in mine])
        if any(len(mine & grams[j]) / len(mine | grams[j]) >= near for j in sorted(lsh.query(m))):
            dropped += 1
            continue
        lsh.insert(i, m)
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64000)
    args = parser.parse_args()
    seen: set[str] = set()
    prompts = []
    for row in synthetic_rows(args.rows, 0):
        key = normalize(row["instruction"])
        if key not in seen:
            seen.add(key)
            prompts.append(row["instruction"])
    start = time.process_time()
    keep, dup_of = DuplicateIndex(0.8).add(prompts)
    ours = time.process_time() - start
    start = time.process_time()
    theirs = datasketch_near(prompts)
    other = time.process_time() - start
    print(f"{len(prompts)} distinct prompts")
    print(f"notus DuplicateIndex: {ours:.2f}s cpu, {len(dup_of)} near duplicates")
    print(
        f"datasketch MinHash + MinHashLSH: {other:.2f}s cpu, {theirs} near duplicates ({other / ours:.1f}x the time)"
    )


if __name__ == "__main__":
    main()
