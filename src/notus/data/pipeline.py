"""The curation pipeline behind `notus data binarize|convert|report`, as plain functions.

    loaded = load("../shared/data/ultrafeedback/uf_critique_100.jsonl")        # detect + canonicalise
    loaded = Loaded.from_rows(rows)                                             # in-memory rows
    result = curate(loaded, CurateOptions(strategy="zephyr", against=["../shared/data/benchmarks"]))
    print(result.ledger.summary())                                             # every row accounted for

Order for rated rows: validate (repair/quarantine) -> drop empty/truncated completions -> empty
prompt -> exact/near-duplicate prompts -> overall_score bug (flag or drop) -> decontamination ->
binarize. Pair rows: validate -> empty response / chosen equals rejected -> duplicate pairs ->
decontamination; ties (score_chosen == score_rejected) are counted and kept unless `drop_ties`.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import numpy as np

from notus.core.errors import DataError
from notus.data.binarize import BinarizeStats, make_pairs, no_gc, pick
from notus.data.columns import RatedColumns
from notus.data.decontaminate import BenchmarkIndex
from notus.data.filters import duplicate_prompts, normalize, response_problem, score_bug
from notus.data.formats import FORMATS, Format, detect_format
from notus.data.readers import Record, read_records
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

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], fmt: str | None = None, name: str = "<rows>") -> Loaded:
        """In-memory rows (the Python API's way in; `load` reads files): the format is detected
        unless named, and rows are numbered from 1 as lines of the file `name`."""
        with no_gc():
            records = [Record(row, name, i) for i, row in enumerate(rows, 1)]
            if not records:
                return cls(FORMATS.get(fmt or "ultrafeedback"), [], [], 0)
            chosen = FORMATS.get(fmt) if fmt else detect_format(records)
            canonical, bad = chosen.to_canonical(records)
        return cls(chosen, canonical, bad, len(records))


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


def _count(ledger: Ledger, reason: str, keep: list[bool]) -> list[bool]:
    """Count the rows a filter drops under its reason; the filter's keep mask, unchanged."""
    ledger.filter(reason, keep.count(False))
    return keep


def _kept(keep: list[bool], *columns: list) -> tuple[list, ...]:
    """Each list with the rows the mask keeps (the lists themselves when it keeps every row)."""
    if all(keep):
        return columns
    return tuple(list(compress(column, keep)) for column in columns)


def _contamination(
    records: list[Record], opts: CurateOptions, ledger: Ledger, result: CurateResult
) -> list[bool]:
    """Keep mask: the rows whose prompt matches no benchmark item (hits counted per benchmark)."""
    if not opts.against and opts.index is None:
        return [True] * len(records)
    index = opts.index or BenchmarkIndex.from_paths(opts.against)
    hits = index.match([_prompt_text(r.row) for r in records], progress=opts.progress)
    for h in hits:
        h["file"], h["line"] = records[h["row"]].file, records[h["row"]].line
    result.hits = hits
    bad = {h["row"]: h["hits"][0]["benchmark"] for h in hits}
    for bench in sorted(set(bad.values())):
        ledger.filter(f"contaminated ({bench})", sum(1 for b in bad.values() if b == bench))
    return [i not in bad for i in range(len(records))]


def _duplicates(prompts: list[str], opts: CurateOptions, ledger: Ledger) -> list[bool]:
    """Keep mask: the first of each group of exact or near-duplicate prompts."""
    if not opts.dedup:
        return [True] * len(prompts)
    keep, dup_of = duplicate_prompts(prompts, near=opts.near_dup)
    ledger.filter("duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "exact"))
    ledger.filter("near-duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "near"))
    return keep


def _drop_bad_responses(records: list[Record], cols: RatedColumns, result: CurateResult) -> RatedColumns:
    """Remove empty/truncated completions (`filters.response_problem`); a row that loses one is a
    copy (the input stays as it is)."""
    found = [response_problem(t) for t in cols.responses]
    dead = np.array([p is not None for p in found], dtype=bool)
    if not dead.any():
        return cols
    result.completions_removed.update(p for p in found if p)
    offsets = cols.starts()
    for i in np.unique(cols.owners()[dead]).tolist():
        row, lo = records[i].row, int(offsets[i])
        kept = [c for k, c in enumerate(row["completions"], lo) if not dead[k]]
        records[i] = Record({**row, "completions": kept}, records[i].file, records[i].line)
    return cols.drop(dead)


def _curate_rated(loaded: Loaded, opts: CurateOptions, ledger: Ledger, result: CurateResult) -> None:
    records, rejects, repairs, cols = validate_rated(loaded.records)
    result.rejects += rejects
    ledger.quarantined += len(rejects)
    ledger.repairs.update(repairs)
    if opts.drop_bad_responses:
        cols = _drop_bad_responses(records, cols, result)
    spec = parse_strategy(opts.strategy, opts.rejected, opts.top_tie, opts.allow_equal, opts.min_margin)
    rows = [r.row for r in records]
    bug = (cols.matrix(score_bug(cols, opts.score_gap)) == 1).any(axis=1)
    scores = cols.matrix(spec.score(cols))
    at = list(range(len(records)))  # each kept record's row in the columns
    prompts = [row["instruction"] for row in rows]
    nonempty = [p != "" and not p.isspace() for p in prompts]  # what is left after strip()
    records, rows, at, prompts = _kept(_count(ledger, "empty prompt", nonempty), records, rows, at, prompts)
    records, rows, at = _kept(_duplicates(prompts, opts, ledger), records, rows, at)
    if opts.score_bug == "drop":
        flagged = bug[at].tolist()
        records, rows, at = _kept(
            _count(ledger, "overall_score contradicts aspect ratings", [not f for f in flagged]),
            records,
            rows,
            at,
        )
    records, rows, at = _kept(_contamination(records, opts, ledger, result), records, rows, at)
    scores = scores[at]
    picks = pick(scores, spec, random.Random(opts.seed))
    stats = BinarizeStats(len(rows), len(picks.row), picks.rows_out, picks.dropped, picks.top_ties)
    for reason, n in stats.dropped.items():
        ledger.filter(reason, n)
    pairs = make_pairs(rows, picks, scores, spec, cols, cols.starts()[at], bug[at])
    result.rows, result.rated, result.stats, result.ties = pairs, rows, stats, stats.top_ties
    ledger.check(stats.rows_out)


def _response_keys(kind: str) -> tuple[str, ...]:
    return ("chosen", "rejected") if kind == "pairs" else ("completion",)


def validated(loaded: Loaded) -> tuple[list[Record], list[dict[str, Any]]]:
    """The rows that pass validation (repaired where a rule allows) and all quarantined inputs
    (the reader's, the format's and validation's), for steps that do not binarize."""
    if loaded.kind == "rated":
        records, rejects, _, _ = validate_rated(loaded.records)
    else:
        records, rejects = validate_pairs(loaded.records, _response_keys(loaded.kind))
    return records, loaded.rejects + rejects


def _curate_pairs(loaded: Loaded, opts: CurateOptions, ledger: Ledger, result: CurateResult) -> None:
    keys = _response_keys(loaded.kind)
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
            (records,) = _kept(
                _count(ledger, "tie (score_chosen == score_rejected)", [not t for t in ties]), records
            )
    nonempty = [all(text(r.row[k]).strip() for k in keys) for r in records]
    (records,) = _kept(_count(ledger, "empty response", nonempty), records)
    if loaded.kind == "pairs":
        differ = [text(r.row["chosen"]) != text(r.row["rejected"]) for r in records]
        (records,) = _kept(_count(ledger, "chosen equals rejected", differ), records)
    if opts.dedup:
        seen: set[str] = set()
        keep = []
        for r in records:
            key = normalize(_prompt_text(r.row) + "\x00" + "\x00".join(text(r.row[k]) for k in keys))
            keep.append(key not in seen)
            seen.add(key)
        (records,) = _kept(_count(ledger, "duplicate row", keep), records)
    (records,) = _kept(_contamination(records, opts, ledger, result), records)
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
