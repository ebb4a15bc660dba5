"""The curation pipeline behind `notus data binarize|convert|report`, as plain functions.

    loaded = load("../shared/data/ultrafeedback/uf_critique_100.jsonl")        # detect + canonicalise
    result = curate(loaded, CurateOptions(strategy="zephyr", against=["../shared/data/benchmarks"]))
    print(result.ledger.summary())                                             # every row accounted for

Order for rated rows: validate (repair/quarantine) -> drop empty/truncated completions -> empty
prompt -> exact/near-duplicate prompts -> overall_score bug (flag or drop) -> decontamination ->
binarize. Pair rows: validate -> empty response / chosen equals rejected -> duplicate pairs ->
decontamination; ties (score_chosen == score_rejected) are counted and kept unless `drop_ties`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from notus.core.errors import DataError
from notus.data.binarize import BinarizeStats, binarize, no_gc
from notus.data.decontaminate import BenchmarkIndex
from notus.data.filters import TRUNCATION_ENDINGS, duplicate_prompts, normalize, response_problem
from notus.data.formats import FORMATS, Format, detect_format
from notus.data.readers import Record, read_records
from notus.data.scores import mean_matrix, overall_matrix, score_matrix
from notus.data.strategies import parse_strategy
from notus.data.validate import Ledger, validate_pairs, validate_rated


@dataclass
class Loaded:
    format: Format
    records: list[Record]
    rejects: list[dict[str, Any]]
    rows_read: int  # input rows (before grouping), quarantined ones included

    @property
    def kind(self) -> str:
        return self.format.kind


def load(path: str, fmt: str | None = None, split: str | None = None) -> Loaded:
    records, rejects = read_records(path, split)
    if not records and not rejects:
        raise DataError(f"{path}: no rows (the file is empty)")
    if not records:
        return Loaded(FORMATS.get(fmt or "ultrafeedback"), [], rejects, len(rejects))
    chosen = FORMATS.get(fmt) if fmt else detect_format(records)
    canonical, bad = chosen.to_canonical(records)
    return Loaded(chosen, canonical, rejects + bad, len(records) + len(rejects))


@dataclass
class CurateOptions:
    strategy: str = "notus"
    rejected: str = "random"
    top_tie: str = "first"
    allow_equal: bool | None = None
    min_margin: float = 0.0
    seed: int = 42
    near_dup: float | None = 0.8
    dedup: bool = True
    drop_bad_responses: bool = True
    score_bug: str = "flag"  # flag | drop
    score_gap: float = 2.5
    drop_ties: bool = False
    against: list[str] = field(default_factory=list)
    index: BenchmarkIndex | None = None  # a prebuilt index (reused across calls)
    progress: bool = False


@dataclass
class CurateResult:
    kind: str
    rows: list[dict[str, Any]]  # output rows: pairs (rated/pairs input) or unpaired rows
    ledger: Ledger
    rejects: list[dict[str, Any]]
    rated: list[dict[str, Any]] = field(default_factory=list)  # rated rows that reached binarization
    stats: BinarizeStats | None = None
    hits: list[dict[str, Any]] = field(default_factory=list)
    completions_removed: Counter = field(default_factory=Counter)
    ties: int = 0


def _prompt_text(row: dict[str, Any]) -> str:
    if "instruction" in row:
        return row["instruction"]
    return "\n".join(m["content"] for m in row["prompt"] if m["role"] == "user")


def _apply(records: list[Record], keep: list[bool], reason: str, ledger: Ledger) -> list[Record]:
    ledger.filter(reason, keep.count(False))
    return [r for r, k in zip(records, keep) if k]


def _decontaminate(
    records: list[Record], opts: CurateOptions, ledger: Ledger, result: CurateResult
) -> list[Record]:
    if not opts.against and opts.index is None:
        return records
    index = opts.index or BenchmarkIndex.from_paths(opts.against)
    hits = index.match([_prompt_text(r.row) for r in records], progress=opts.progress)
    for h in hits:
        h["file"], h["line"] = records[h["row"]].file, records[h["row"]].line
    result.hits = hits
    bad = {h["row"]: h["hits"][0]["benchmark"] for h in hits}
    for bench in sorted(set(bad.values())):
        ledger.filter(f"contaminated ({bench})", sum(1 for b in bad.values() if b == bench))
    return [r for i, r in enumerate(records) if i not in bad]


def _dedup(records: list[Record], opts: CurateOptions, ledger: Ledger, key) -> list[Record]:
    if not opts.dedup:
        return records
    keep, dup_of = duplicate_prompts([key(r.row) for r in records], near=opts.near_dup)
    ledger.filter("duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "exact"))
    ledger.filter("near-duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "near"))
    return [r for r, k in zip(records, keep) if k]


def _drop_bad_responses(records: list[Record], result: CurateResult) -> None:
    """Remove empty/truncated completions: a cheap test over all responses finds the rows that may
    hold one, then the exact rule (`filters.response_problem`) runs on those rows only."""
    counts = [len(r.row["completions"]) for r in records]
    texts = [c["response"].rstrip() for r in records for c in r.row["completions"]]
    suspect = [i for i, t in enumerate(texts) if not t or t.endswith(TRUNCATION_ENDINGS) or "```" in t]
    owner = np.repeat(np.arange(len(records)), counts)
    for i in np.unique(owner[suspect]).tolist():
        comps = records[i].row["completions"]
        problems = [response_problem(c["response"]) for c in comps]
        result.completions_removed.update(p for p in problems if p)
        records[i].row["completions"] = [c for c, p in zip(comps, problems) if not p]


def _curate_rated(loaded: Loaded, opts: CurateOptions, ledger: Ledger, result: CurateResult) -> None:
    records, rejects, repairs = validate_rated(loaded.records, progress=opts.progress)
    result.rejects += rejects
    ledger.quarantined += len(rejects)
    ledger.repairs.update(repairs)
    if opts.drop_bad_responses:
        _drop_bad_responses(records, result)
    records = _apply(records, [bool(r.row["instruction"].strip()) for r in records], "empty prompt", ledger)
    records = _dedup(records, opts, ledger, lambda row: row["instruction"])
    spec = parse_strategy(opts.strategy, opts.rejected, opts.top_tie, opts.allow_equal, opts.min_margin)
    scored = [r.row for r in records]
    means = mean_matrix(scored)  # the notus score of every completion: the strategy's and the bug check's
    with np.errstate(invalid="ignore"):
        bug = np.abs(overall_matrix(scored) / 2 - means) >= opts.score_gap  # see `filters.contradicts`
    for row in scored:
        row["score_bug"] = []
    for i, j in zip(*np.nonzero(bug)):
        scored[i]["score_bug"].append(int(j))
    scores = means if opts.strategy == "notus" else score_matrix(scored, spec)
    if opts.score_bug == "drop":
        records = _apply(
            records,
            [not r.row["score_bug"] for r in records],
            "overall_score contradicts aspect ratings",
            ledger,
        )
    records = _decontaminate(records, opts, ledger, result)
    rows = [r.row for r in records]
    if len(rows) < len(scored):  # rows were dropped since scoring: keep their score rows
        position = {id(row): i for i, row in enumerate(scored)}
        scores = scores[[position[id(row)] for row in rows]]
    pairs, stats = binarize(rows, spec, opts.seed, True, scores, progress=opts.progress)
    for reason, n in stats.dropped.items():
        ledger.filter(reason, n)
    for pair in pairs:
        row = rows[pair.pop("row_index")]
        pair["score_bug"] = bool(row["score_bug"])
    result.rows, result.rated, result.stats, result.ties = pairs, rows, stats, stats.top_ties
    ledger.check(stats.rows_out)


def _curate_pairs(loaded: Loaded, opts: CurateOptions, ledger: Ledger, result: CurateResult) -> None:
    keys = ("chosen", "rejected") if loaded.kind == "pairs" else ("completion",)
    records, rejects = validate_pairs(loaded.records, keys)
    result.rejects += rejects
    ledger.quarantined += len(rejects)

    def text(msgs: list[dict[str, str]]) -> str:
        return "".join(m["content"] for m in msgs if m["role"] == "assistant")

    if loaded.kind == "pairs":  # ties are counted on the input rows, before any filter
        ties = [
            r.row.get("score_chosen") is not None and r.row.get("score_chosen") == r.row.get("score_rejected")
            for r in records
        ]
        result.ties = sum(ties)
        if opts.drop_ties:
            records = _apply(records, [not t for t in ties], "tie (score_chosen == score_rejected)", ledger)
    records = _apply(
        records, [all(text(r.row[k]).strip() for k in keys) for r in records], "empty response", ledger
    )
    if loaded.kind == "pairs":
        records = _apply(
            records,
            [text(r.row["chosen"]) != text(r.row["rejected"]) for r in records],
            "chosen equals rejected",
            ledger,
        )
    if opts.dedup:
        seen: set[str] = set()
        keep = []
        for r in records:
            key = normalize(_prompt_text(r.row) + "\x00" + "\x00".join(text(r.row[k]) for k in keys))
            keep.append(key not in seen)
            seen.add(key)
        records = _apply(records, keep, "duplicate row", ledger)
    records = _decontaminate(records, opts, ledger, result)
    result.rows = [r.row for r in records]
    ledger.check(len(result.rows))


def curate(loaded: Loaded, opts: CurateOptions | None = None) -> CurateResult:
    """Validate, filter, decontaminate and (for rated rows) binarize; the ledger balances or it raises."""
    opts = opts or CurateOptions()
    ledger = Ledger(rows_in=len(loaded.records) + len(loaded.rejects))
    ledger.quarantined = len(loaded.rejects)
    if loaded.rows_read != ledger.rows_in:
        ledger.notes.append(f"{loaded.rows_read} input rows were grouped into {len(loaded.records)} prompts")
    result = CurateResult(loaded.kind, [], ledger, list(loaded.rejects))
    with no_gc():
        if loaded.kind == "rated":
            _curate_rated(loaded, opts, ledger, result)
        else:
            _curate_pairs(loaded, opts, ledger, result)
    if result.completions_removed:
        ledger.notes.append(
            "completions removed before binarizing: "
            + ", ".join(f"{k}: {v}" for k, v in result.completions_removed.items())
        )
    if result.ties:
        what = (
            "rows with a tie for the best score"
            if loaded.kind == "rated"
            else "ties (score_chosen == score_rejected)"
        )
        ledger.notes.append(
            f"{what}: {result.ties}" + (" (kept)" if loaded.kind == "pairs" and not opts.drop_ties else "")
        )
    return result


def split_rows(rows: list[dict[str, Any]], test_size: float) -> dict[str, list[dict[str, Any]]]:
    """Deterministic split by a hash of the prompt: the same prompt always lands in the same split."""
    if test_size <= 0:
        return {"train": rows}
    out: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for row in rows:
        digest = hashlib.sha1(_prompt_text(row).encode("utf-8")).digest()
        out["test" if int.from_bytes(digest[:4], "big") / 2**32 < test_size else "train"].append(row)
    return out
