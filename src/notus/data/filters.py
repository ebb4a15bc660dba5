"""Checks and filters: the overall_score bug, empty/truncated responses, exact and near duplicates.

    flags = score_bug_completions(completion_list)           # indices whose critique contradicts
    keep, dup_of = duplicate_prompts(prompts, near=0.8)      # exact + MinHash near-duplicates
    notus data binarize INPUT -o OUT [--near-dup 0.8 --score-bug drop --keep-bad-responses]

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
import zlib
from itertools import chain
from typing import Any

import numpy as np

from notus.data.strategies import mean_rating, overall_score

_WORD = re.compile(r"\w+")
TRUNCATION_ENDINGS = tuple(",:([{-")


def normalize(text: str) -> str:
    """Lower case, punctuation removed, words separated by one space."""
    return " ".join(_WORD.findall(text.lower()))


def contradicts(overall: float | None, mean: float | None, gap: float = 2.5) -> bool:
    """The bug signature: the critique score (1-10) and the aspect mean (1-5) disagree by >= gap."""
    return overall is not None and mean is not None and abs(overall / 2 - mean) >= gap


def score_bug(completion: dict[str, Any], gap: float = 2.5) -> bool:
    return contradicts(overall_score(completion), mean_rating(completion), gap)


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


_MIX = np.uint64(0x100000001B3)


_ASCII_PUNCT = str.maketrans({chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")})


def normalize_words(texts: list[str]) -> list[list[str]]:
    """The words of `normalize` for many texts; ASCII texts take a faster path (str.translate)."""
    return [
        t.lower().translate(_ASCII_PUNCT).split() if t.isascii() else _WORD.findall(t.lower()) for t in texts
    ]


def normalize_all(texts: list[str]) -> list[str]:
    return [" ".join(words) for words in normalize_words(texts)]


def shingle_hashes(split: list[list[str]], n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Word n-gram hashes of word lists in one flat array, and where each list's hashes start.

    Words are hashed with CRC-32 (deterministic across runs); n-grams combine n consecutive word
    hashes of the same text, vectorised over all texts; a text with fewer than n words gets one
    shingle, the combined hash of the words it has.
    """
    counts = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    words = np.fromiter(
        map(zlib.crc32, map(str.encode, chain.from_iterable(split))), dtype=np.uint64, count=int(counts.sum())
    )
    text_of_word = np.repeat(np.arange(len(split)), counts)
    with np.errstate(over="ignore"):
        m = max(len(words) - n + 1, 0)
        grams = words[:m] + np.uint64(1)
        for k in range(1, n):
            grams = grams * _MIX ^ words[k : k + m]
        valid = text_of_word[n - 1 :] == text_of_word[:m]
        gram_text, grams = text_of_word[:m][valid], grams[valid]
        per_text = np.bincount(gram_text, minlength=len(split))
        short = np.flatnonzero(per_text == 0)
        if len(short):  # fewer than n words: one shingle made of the words it has
            whole = np.array([zlib.crc32(" ".join(split[i]).encode()) + 1 for i in short], dtype=np.uint64)
            order = np.argsort(np.concatenate([gram_text, short]), kind="stable")
            grams = np.concatenate([grams, whole])[order]
            per_text[short] = 1
    offsets = np.concatenate([[0], np.cumsum(per_text)[:-1]]).astype(np.int64)
    return grams, offsets


def minhash(flat: np.ndarray, offsets: np.ndarray, num_perm: int = 32, seed: int = 1) -> np.ndarray:
    """(texts, num_perm) MinHash signatures, computed over all texts at once per hash function."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    sig = np.empty((len(offsets), num_perm), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(num_perm):
            sig[:, j] = np.minimum.reduceat((flat * a[j] + b[j]) >> np.uint64(32), offsets)
    return sig


def duplicate_prompts(
    prompts: list[str], near: float | None = 0.8, n: int = 3, bands: int = 8, rows_per_band: int = 4
) -> tuple[list[bool], dict[int, tuple[int, str]]]:
    """Keep mask and, for each dropped index, (index of the kept prompt it duplicates, "exact"|"near")."""
    words = normalize_words(prompts)
    norm = [" ".join(w) for w in words]
    keep = [True] * len(prompts)
    dup_of: dict[int, tuple[int, str]] = {}
    first: dict[str, int] = {}
    for i, text in enumerate(norm):
        j = first.setdefault(text, i)
        if j != i:
            keep[i], dup_of[i] = False, (j, "exact")
    if near is None or len(prompts) < 2:
        return keep, dup_of
    live = [i for i in range(len(norm)) if keep[i]]
    flat, offsets = shingle_hashes([words[i] for i in live], n)
    sig = minhash(flat, offsets, bands * rows_per_band)
    ends = np.append(offsets[1:], len(flat))

    def shingles(pos: int) -> set[int]:
        return set(flat[offsets[pos] : ends[pos]].tolist())

    candidates: dict[int, set[int]] = {}
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.zeros(len(live), dtype=np.uint64)
            for col in range(band * rows_per_band, (band + 1) * rows_per_band):
                key = key * np.uint64(0x9E3779B97F4A7C15) ^ sig[:, col]
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            same = first[inverse]  # the first text in this text's bucket
            for pos in np.nonzero(same != np.arange(len(live)))[0].tolist():
                candidates.setdefault(pos, set()).add(int(same[pos]))
    for pos in sorted(candidates):
        if not keep[live[pos]]:
            continue
        for other in sorted(candidates[pos]):
            if not keep[live[other]]:
                continue
            mine, theirs = shingles(pos), shingles(other)
            if len(mine & theirs) / len(mine | theirs) >= near:
                keep[live[pos]], dup_of[live[pos]] = False, (live[other], "near")
                break
    return keep, dup_of
