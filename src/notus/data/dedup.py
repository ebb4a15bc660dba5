"""Exact and near-duplicate prompts, computed over whole columns with numpy.

    keep, dup_of = duplicate_prompts(prompts, near=0.8)     # also `notus.data.filters.duplicate_prompts`
    notus data binarize INPUT -o OUT [--near-dup 0.8]

Rules (docs/data.md): prompts are normalised (lower case, every non-word character a space, words
separated by one space: `filters.normalize`); equal normalised prompts are exact duplicates and the
first occurrence is kept. Near duplicates: word 3-gram Jaccard >= `near`, found with MinHash (32
hashes, 8 bands of 4) and confirmed with the exact Jaccard of the 3-gram sets.

How it is fast: every prompt is normalised to UTF-8 once and all of them are joined into one byte
array. Word boundaries, the normalised text (the exact-duplicate key), each word's CRC-32 (computed
byte by byte for all words at once), the 3-gram hashes and the MinHash signatures are array
operations; Python only loops over the (few) candidate pairs that LSH finds.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

WORD = re.compile(r"\w+")
_ASCII_PUNCT = str.maketrans({chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")})
_SPACE = ord(" ")
_MIX = np.uint64(0x100000001B3)
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> np.uint32(1)) ^ np.uint32(0xEDB88320), table >> np.uint32(1))
    return table.astype(np.uint32)


_CRC_TABLE = _crc_table()


def normalized_utf8(texts: list[str]) -> list[bytes]:
    """Each text lower-cased with its non-word characters turned into spaces, as UTF-8 (words may
    be separated by several spaces). ASCII texts take the fast path (str.translate)."""
    return [
        (t.lower().translate(_ASCII_PUNCT) if t.isascii() else " ".join(WORD.findall(t.lower()))).encode()
        for t in texts
    ]


class Words:
    """All texts in one byte array and the byte span and text of every word."""

    def __init__(self, encoded: list[bytes]):
        self.bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        self.bounds = np.concatenate([[0], np.cumsum(lengths)])  # text t is bytes[bounds[t]:bounds[t+1]]
        letter = self.bytes != _SPACE
        edge = np.zeros(len(self.bytes) + 1, dtype=bool)
        edge[self.bounds] = True  # a text boundary ends a word and starts the next
        before = np.concatenate([[False], letter[:-1]])
        after = np.concatenate([letter[1:], [False]])
        self.start = np.flatnonzero(letter & (~before | edge[:-1]))
        self.end = np.flatnonzero(letter & (~after | edge[1:])) + 1
        self.text = np.searchsorted(self.bounds, self.start, side="right") - 1
        self.per_text = np.bincount(self.text, minlength=len(encoded))

    def normalized(self) -> list[bytes]:
        """Each text's words joined by one space (`filters.normalize`, as UTF-8)."""
        keep = self.bytes != _SPACE
        inner = self.text[:-1] == self.text[1:]  # a word followed by another word of its text
        keep[self.end[:-1][inner]] = True  # keeps the first space after it
        cut = np.concatenate([[0], np.cumsum(keep)])[self.bounds].tolist()
        blob = self.bytes[keep].tobytes()
        return [blob[a:b] for a, b in zip(cut[:-1], cut[1:])]

    def crc32(self) -> np.ndarray:
        """zlib.crc32 of every word, computed for all words at once, one byte position at a time."""
        length = self.end - self.start
        order = np.argsort(-length, kind="stable")  # the words still being read are a prefix
        pos, desc = self.start[order], length[order]
        crc = np.full(len(pos), 0xFFFFFFFF, dtype=np.uint32)
        for k in range(int(desc.max(initial=0))):
            n = int(np.searchsorted(-desc, -k, side="left"))  # words longer than k bytes
            c = crc[:n]
            crc[:n] = _CRC_TABLE[(c ^ self.bytes[pos[:n] + k]) & 0xFF] ^ (c >> np.uint32(8))
        out = np.empty_like(crc)
        out[order] = crc ^ np.uint32(0xFFFFFFFF)
        return out


def shingle_hashes(words: Words, keys: list[bytes], n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Word n-gram hashes of all texts in one flat array, and where each text's hashes start.

    n-grams combine the CRC-32 of n consecutive words of the same text; a text with fewer than n
    words gets one shingle, the CRC-32 of its normalised text (`keys`) plus one.
    """
    hashes = words.crc32().astype(np.uint64)
    m = max(len(hashes) - n + 1, 0)
    with np.errstate(over="ignore"):
        grams = hashes[:m] + np.uint64(1)
        for k in range(1, n):
            grams = grams * _MIX ^ hashes[k : k + m]
    valid = words.text[n - 1 :] == words.text[:m]
    gram_text, grams = words.text[:m][valid], grams[valid]
    per_text = np.bincount(gram_text, minlength=len(keys))
    short = np.flatnonzero(per_text == 0)
    if len(short):  # fewer than n words: one shingle made of the words it has
        whole = np.array([zlib.crc32(keys[i]) + 1 for i in short.tolist()], dtype=np.uint64)
        order = np.argsort(np.concatenate([gram_text, short]), kind="stable")
        grams = np.concatenate([grams, whole])[order]
        per_text[short] = 1
    offsets = np.concatenate([[0], np.cumsum(per_text)[:-1]]).astype(np.int64)
    return grams, offsets


def minhash(
    flat: np.ndarray, offsets: np.ndarray, num_perm: int = 32, seed: int = 1, chunk: int = 8192
) -> np.ndarray:
    """(texts, num_perm) MinHash signatures: all hash functions at once over blocks of about
    `chunk` shingles (whole texts), so each block's (shingles, num_perm) table stays in cache."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    sig = np.empty((len(offsets), num_perm), dtype=np.uint64)
    starts = np.searchsorted(offsets, np.arange(0, len(flat), chunk))  # the text where each block starts
    cuts = np.unique(np.append(starts, len(offsets))).tolist()
    with np.errstate(over="ignore"):
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            end = offsets[hi] if hi < len(offsets) else len(flat)
            table = (flat[offsets[lo] : end, None] * a + b) >> np.uint64(32)
            sig[lo:hi] = np.minimum.reduceat(table, offsets[lo:hi] - offsets[lo], axis=0)
    return sig


def _candidates(sig: np.ndarray, bands: int, rows_per_band: int) -> dict[int, set[int]]:
    """For each text, the earlier-bucketed texts it shares an LSH band with."""
    candidates: dict[int, set[int]] = {}
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.zeros(len(sig), dtype=np.uint64)
            for col in range(band * rows_per_band, (band + 1) * rows_per_band):
                key = key * _BAND_MIX ^ sig[:, col]
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            same = first[inverse]  # the first text in this text's bucket
            for pos in np.nonzero(same != np.arange(len(sig)))[0].tolist():
                candidates.setdefault(pos, set()).add(int(same[pos]))
    return candidates


def duplicate_prompts(
    prompts: list[str], near: float | None = 0.8, n: int = 3, bands: int = 8, rows_per_band: int = 4
) -> tuple[list[bool], dict[int, tuple[int, str]]]:
    """Keep mask and, for each dropped index, (index of the kept prompt it duplicates, "exact"|"near")."""
    encoded = normalized_utf8(prompts)
    words = Words(encoded)
    keys = words.normalized()
    keep = [True] * len(prompts)
    dup_of: dict[int, tuple[int, str]] = {}
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        j = first.setdefault(key, i)
        if j != i:
            keep[i], dup_of[i] = False, (j, "exact")
    if near is None or len(prompts) < 2:
        return keep, dup_of
    flat, offsets = shingle_hashes(words, keys, n)
    ends = np.append(offsets[1:], len(flat))
    live = [i for i in range(len(keys)) if keep[i]]
    sig = minhash(flat, offsets, bands * rows_per_band)[live]

    def shingles(pos: int) -> set[int]:
        return set(flat[offsets[live[pos]] : ends[live[pos]]].tolist())

    candidates = _candidates(sig, bands, rows_per_band)
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
