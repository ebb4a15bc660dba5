"""Checks and filters: the overall_score bug, empty/truncated responses, exact and near duplicates.

    flags = score_bug_completions(completion_list)           # indices whose critique contradicts
    keep, dup_of = duplicate_prompts(prompts, near=0.8)      # exact + MinHash near-duplicates

Rules (docs/data.md):
- overall_score bug signature: UltraFeedback's critique `overall_score` (1-10) was sometimes recorded
  as 10 where the critique meant 1. A completion is flagged when |overall_score / 2 - aspect mean|
  >= `gap` (default 2.5 on the 1-5 scale), e.g. overall 10 with aspects averaging 2.5 or less.
- empty response: no non-space text. Truncated response: an unclosed ``` code fence, or text ending
  in `,`, `:`, `(`, `[`, `{` or `-`. Such completions are removed before binarization.
- duplicates: prompts are normalised (lower case, punctuation removed, spaces collapsed); the first
  occurrence is kept. Near duplicates: word 3-gram Jaccard >= `near`, found with MinHash (32 hashes,
  8 bands of 4) and confirmed with the exact Jaccard of the 3-gram sets.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from notus.data.strategies import mean_rating, overall_score

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
TRUNCATION_ENDINGS = tuple(",:([{-")
_MASK32 = np.uint64(0xFFFFFFFF)


def normalize(text: str) -> str:
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def score_bug(completion: dict[str, Any], gap: float = 2.5) -> bool:
    overall, mean = overall_score(completion), mean_rating(completion)
    return overall is not None and mean is not None and abs(overall / 2 - mean) >= gap


def score_bug_completions(completions: list[dict[str, Any]], gap: float = 2.5) -> list[int]:
    return [i for i, c in enumerate(completions) if score_bug(c, gap)]


def response_problem(text: str) -> str | None:
    """ "empty response", "truncated response" or None."""
    stripped = text.rstrip()
    if not stripped:
        return "empty response"
    if stripped.count("```") % 2 == 1 or stripped.endswith(TRUNCATION_ENDINGS):
        return "truncated response"
    return None


def _shingles(ids: list[int], n: int) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.uint64)
    if len(arr) < n:
        arr = np.pad(arr, (0, n - len(arr)), constant_values=np.uint64(0x9E3779B9))
    h = arr[: len(arr) - n + 1].copy()
    for k in range(1, n):
        h = h * np.uint64(0x100000001B3) ^ arr[k : len(arr) - n + 1 + k]
    return np.unique(h)


def minhash(shingle_sets: list[np.ndarray], num_perm: int = 32, seed: int = 1) -> np.ndarray:
    """(rows, num_perm) MinHash signatures, computed over all rows at once per hash function."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    flat = np.concatenate(shingle_sets) if shingle_sets else np.zeros(0, np.uint64)
    starts = np.cumsum([0] + [len(s) for s in shingle_sets[:-1]])
    sig = np.empty((len(shingle_sets), num_perm), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(num_perm):
            sig[:, j] = np.minimum.reduceat((flat * a[j] + b[j]) >> np.uint64(32), starts)
    return sig


def duplicate_prompts(
    prompts: list[str], near: float | None = 0.8, n: int = 3, bands: int = 8, rows_per_band: int = 4
) -> tuple[list[bool], dict[int, tuple[int, str]]]:
    """Keep mask and, for each dropped index, (index of the kept prompt it duplicates, "exact"|"near")."""
    norm = [normalize(p) for p in prompts]
    keep = [True] * len(prompts)
    dup_of: dict[int, tuple[int, str]] = {}
    first: dict[str, int] = {}
    for i, text in enumerate(norm):
        j = first.setdefault(text, i)
        if j != i:
            keep[i], dup_of[i] = False, (j, "exact")
    if near is None or len(prompts) < 2:
        return keep, dup_of
    vocab: dict[str, int] = {}
    live = [i for i in range(len(norm)) if keep[i]]
    sets = [_shingles([vocab.setdefault(w, len(vocab) + 1) for w in norm[i].split()], n) for i in live]
    sig = minhash(sets, bands * rows_per_band)
    candidates: dict[int, set[int]] = {}
    for band in range(bands):
        block = np.ascontiguousarray(sig[:, band * rows_per_band : (band + 1) * rows_per_band])
        buckets: dict[bytes, int] = {}
        for pos in range(len(live)):
            other = buckets.setdefault(block[pos].tobytes(), pos)
            if other != pos:
                candidates.setdefault(pos, set()).add(other)
    for pos in sorted(candidates):
        if not keep[live[pos]]:
            continue
        for other in sorted(candidates[pos]):
            if not keep[live[other]]:
                continue
            inter = len(np.intersect1d(sets[pos], sets[other], assume_unique=True))
            union = len(sets[pos]) + len(sets[other]) - inter
            if union and inter / union >= near:
                keep[live[pos]], dup_of[live[pos]] = False, (live[other], "near")
                break
    return keep, dup_of
