"""The curation pipeline behind `notus data binarize|convert|report`, as plain functions.

    loaded = load("../shared/data/ultrafeedback/uf_critique_100.jsonl")        # detect + canonicalise
    loaded = Loaded.from_rows(rows)                                             # in-memory rows
    result = curate(loaded, CurateOptions(strategy="zephyr", against=["../shared/data/benchmarks"]))
    print(result.ledger.summary())                                             # every row accounted for
    curation, rows = curate_file("big.jsonl", opts=CurateOptions())            # streamed, part by part
    write_jsonl("pairs.jsonl", rows); result = curation.finish(n_written)

Order for rated rows: validate (repair/quarantine) -> drop empty/truncated completions -> empty
prompt -> exact/near-duplicate prompts -> overall_score bug (flag or drop) -> decontamination ->
binarize. Pair rows: validate -> empty response / chosen equals rejected -> duplicate pairs ->
decontamination; ties (score_chosen == score_rejected) are counted and kept unless `drop_ties`.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, compress
from typing import Any

import numpy as np

from notus.core.errors import DataError
from notus.data import readers
from notus.data.binarize import BinarizeStats, make_pairs, no_gc, pick
from notus.data.columns import RatedColumns
from notus.data.decontaminate import BenchmarkIndex
from notus.data.dedup import DuplicateIndex
from notus.data.filters import normalize, response_problems, score_bug
from notus.data.formats import FORMATS, Format, detect_format
from notus.data.readers import Record, read_records
from notus.data.strategies import parse_strategy
from notus.data.validate import Ledger, validate_pairs, validate_rated

PART_ROWS = 16384  # rows curated together: memory holds one part (and the duplicate index), not the input


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
            return _loaded([Record(row, name, i) for i, row in enumerate(rows, 1)], [], fmt)


def _loaded(records: list[Record], rejects: list[dict[str, Any]], fmt: str | Format | None) -> Loaded:
    """Records in the canonical form of `fmt` (detected from the records when None)."""
    chosen = FORMATS.get(fmt) if isinstance(fmt, str) else fmt
    chosen = chosen or (detect_format(records) if records else FORMATS.get("ultrafeedback"))
    canonical, bad = chosen.to_canonical(records) if records else ([], [])
    return Loaded(chosen, canonical, rejects + bad, len(records) + len(rejects))


def read_parts(
    path: str, fmt: str | None = None, split: str | None = None, size: int = PART_ROWS
) -> Iterator[Loaded]:
    """`load` a part at a time (`readers.read_parts`); the format is detected on the first part."""
    chosen: str | Format | None = fmt
    empty = True
    for records, rejects in readers.read_parts(path, split, size):
        if records or rejects:
            empty = False
            part = _loaded(records, rejects, chosen)
            chosen = part.format if records else chosen
            yield part
    if empty:
        raise DataError(f"{path}: no rows (the file is empty)")


def load(path: str, fmt: str | None = None, split: str | None = None) -> Loaded:
    records, rejects = read_records(path, split)
    if not records and not rejects:
        raise DataError(f"{path}: no rows (the file is empty)")
    return _loaded(records, rejects, fmt)


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


class Curation:
    """The curation of one input, part after part (`add`), then `finish`: what is carried from part
    to part (ids seen, duplicate index, random draws, counts) makes the result the same as one part
    (the order of the steps: the module docstring)."""

    def __init__(self, kind: str, opts: CurateOptions, keep_rated: bool = True):
        self.kind, self.opts, self.keep_rated = kind, opts, keep_rated
        self.format: Format | None = None  # the input's format, when read from a file
        self.ledger = Ledger()
        self.result = CurateResult(kind, [], self.ledger, [])
        self.spec = parse_strategy(
            opts.strategy, opts.rejected, opts.top_tie, opts.allow_equal, opts.min_margin
        )
        self.rng = random.Random(opts.seed)
        self.seen_ids: dict[Any, tuple[str, int]] = {}
        self.duplicates = DuplicateIndex(opts.near_dup)
        self.seen_rows: set[str] = set()  # pair rows: normalised prompt + responses
        self.stats = BinarizeStats()
        self.index = opts.index or (BenchmarkIndex.from_paths(opts.against) if opts.against else None)
        self.rows_read = 0
        self.checked = 0  # rows checked for contamination so far
        self.records_in = 0

    def add(self, part: Loaded) -> list[dict[str, Any]]:
        """The output rows of one part (pairs for rated input)."""
        self.ledger.rows_in += len(part.records) + len(part.rejects)
        self.ledger.quarantined += len(part.rejects)
        self.result.rejects += part.rejects
        self.rows_read += part.rows_read
        self.records_in += len(part.records)
        with no_gc():
            if self.kind != "rated":
                return self._pairs(part.records)
            return [pair for lo in range(0, len(part.records), PART_ROWS)
                    for pair in self._rated(part.records[lo : lo + PART_ROWS])]  # fmt: skip

    def finish(self, rows_out: int) -> CurateResult:
        """The result, once every part is added: the ledger balances against `rows_out` or it raises."""
        ledger, result = self.ledger, self.result
        if self.kind == "rated":
            for reason, n in self.stats.dropped.items():
                ledger.filter(reason, n)
            result.stats, result.ties = self.stats, self.stats.top_ties
            rows_out = self.stats.rows_out
        ledger.check(rows_out)
        if self.rows_read != ledger.rows_in:
            ledger.notes.append(f"{self.rows_read} input rows were grouped into {self.records_in} prompts")
        if result.completions_removed:
            ledger.notes.append(
                "completions removed before binarizing: "
                + ", ".join(f"{k}: {v}" for k, v in result.completions_removed.items())
            )
        if result.ties:
            what = (
                "rows with a tie for the best score"
                if self.kind == "rated"
                else "ties (score_chosen == score_rejected)"
            )
            kept = " (kept)" if self.kind == "pairs" and not self.opts.drop_ties else ""
            ledger.notes.append(f"{what}: {result.ties}{kept}")
        return result

    def _contamination(self, records: list[Record]) -> list[bool]:
        """Keep mask: the rows whose prompt matches no benchmark item (hits counted per benchmark)."""
        if self.index is None:
            return [True] * len(records)
        hits = self.index.match([_prompt_text(r.row) for r in records], progress=self.opts.progress)
        bad = {h["row"]: h["hits"][0]["benchmark"] for h in hits}
        for h in hits:  # `row`: among all rows checked, in every part
            h["file"], h["line"], h["row"] = (
                records[h["row"]].file,
                records[h["row"]].line,
                h["row"] + self.checked,
            )
        self.result.hits += hits
        self.checked += len(records)
        for bench in sorted(set(bad.values())):
            self.ledger.filter(f"contaminated ({bench})", sum(1 for b in bad.values() if b == bench))
        return [i not in bad for i in range(len(records))]

    def _duplicates(self, prompts: list[str]) -> list[bool]:
        """Keep mask: the first of each group of exact or near-duplicate prompts."""
        if not self.opts.dedup:
            return [True] * len(prompts)
        keep, dup_of = self.duplicates.add(prompts)
        self.ledger.filter("duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "exact"))
        self.ledger.filter("near-duplicate prompt", sum(1 for _, kind in dup_of.values() if kind == "near"))
        return keep

    def _rated(self, records: list[Record]) -> list[dict[str, Any]]:
        opts, ledger, result = self.opts, self.ledger, self.result
        records, rejects, repairs, cols = validate_rated(records, self.seen_ids)
        result.rejects += rejects
        ledger.quarantined += len(rejects)
        ledger.repairs.update(repairs)
        if opts.drop_bad_responses:
            cols = _drop_bad_responses(records, cols, result)
        rows = [r.row for r in records]
        bug = (cols.matrix(score_bug(cols, opts.score_gap)) == 1).any(axis=1)
        scores = cols.matrix(self.spec.score(cols))
        index = list(range(len(records)))  # each kept record's row in the columns
        prompts = [row["instruction"] for row in rows]
        nonempty = [p != "" and not p.isspace() for p in prompts]  # what is left after strip()
        records, rows, index, prompts = _kept(
            _count(ledger, "empty prompt", nonempty), records, rows, index, prompts
        )
        records, rows, index = _kept(self._duplicates(prompts), records, rows, index)
        if opts.score_bug == "drop":
            clean = [not f for f in bug[index].tolist()]
            reason = "overall_score contradicts aspect ratings"
            records, rows, index = _kept(_count(ledger, reason, clean), records, rows, index)
        records, rows, index = _kept(self._contamination(records), records, rows, index)
        scores = scores[index]
        picks = pick(scores, self.spec, self.rng)
        self.stats.add(
            BinarizeStats(len(rows), len(picks.row), picks.rows_out, picks.dropped, picks.top_ties)
        )
        if self.keep_rated:
            result.rated += rows
        return make_pairs(rows, picks, scores, self.spec, cols, cols.starts()[index], bug[index])

    def _pairs(self, records: list[Record]) -> list[dict[str, Any]]:
        opts, ledger, result = self.opts, self.ledger, self.result
        keys = _response_keys(self.kind)
        records, rejects = validate_pairs(records, keys)
        result.rejects += rejects
        ledger.quarantined += len(rejects)

        def text(msgs: list[dict[str, str]]) -> str:
            return "".join(m["content"] for m in msgs if m["role"] == "assistant")

        if self.kind == "pairs":  # ties are counted on the input rows, before any filter
            ties = [
                r.row.get("score_chosen") is not None
                and r.row.get("score_chosen") == r.row.get("score_rejected")
                for r in records
            ]
            result.ties += sum(ties)
            if opts.drop_ties:
                reason = "tie (score_chosen == score_rejected)"
                (records,) = _kept(_count(ledger, reason, [not t for t in ties]), records)
        nonempty = [all(text(r.row[k]).strip() for k in keys) for r in records]
        (records,) = _kept(_count(ledger, "empty response", nonempty), records)
        if self.kind == "pairs":
            differ = [text(r.row["chosen"]) != text(r.row["rejected"]) for r in records]
            (records,) = _kept(_count(ledger, "chosen equals rejected", differ), records)
        if opts.dedup:
            keep = []
            for r in records:
                key = normalize(_prompt_text(r.row) + "\x00" + "\x00".join(text(r.row[k]) for k in keys))
                keep.append(key not in self.seen_rows)
                self.seen_rows.add(key)
            (records,) = _kept(_count(ledger, "duplicate row", keep), records)
        (records,) = _kept(self._contamination(records), records)
        return [r.row for r in records]


def _drop_bad_responses(records: list[Record], cols: RatedColumns, result: CurateResult) -> RatedColumns:
    """Remove empty/truncated completions (`filters.response_problems`); a row that loses one is a
    copy (the input stays as it is)."""
    found = response_problems(cols.responses)
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


def curate(loaded: Loaded, opts: CurateOptions | None = None) -> CurateResult:
    """Validate, filter, decontaminate and (for rated rows) binarize; the ledger balances or it raises."""
    curation = Curation(loaded.kind, opts or CurateOptions())
    rows = curation.add(loaded)
    result = curation.finish(len(rows))
    result.rows = rows
    return result


def curate_file(
    path: str, fmt: str | None = None, split: str | None = None, opts: CurateOptions | None = None,
    keep_rated: bool = False, size: int = PART_ROWS,
) -> tuple[Curation, Iterator[dict[str, Any]]]:  # fmt: skip
    """`curate` for an input read in parts of `PART_ROWS` rows (JSON lines and Parquet; other inputs
    are one part): the output rows come from the iterator as each part is curated, so memory holds
    one part and the duplicate index, not the input. `Curation.finish` once the iterator is spent.
    While it runs, the cyclic garbage collector is paused (reference counting still frees rows)."""
    parts = read_parts(path, fmt, split, size)
    with no_gc():
        head = next(parts)
    curation = Curation(head.kind, opts or CurateOptions(), keep_rated)
    curation.format = head.format

    def rows() -> Iterator[dict[str, Any]]:
        # The cyclic collector is paused until the iterator is spent or closed: rows read from
        # JSON hold no reference cycles, and its walks over every live row took half the time of
        # a 1,000,000-row file (161 s -> 81 s) and made each part slower than the one before.
        with no_gc():
            for part in chain([head], parts):
                yield from curation.add(part)

    return curation, rows()


def split_of(row: dict[str, Any], test_size: float) -> str:
    """ "train" or "test", by a hash of the prompt: the same prompt always lands in the same split."""
    if test_size <= 0:
        return "train"
    digest = hashlib.sha1(_prompt_text(row).encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:4], "big") / 2**32 < test_size else "train"


def split_rows(rows: list[dict[str, Any]], test_size: float) -> dict[str, list[dict[str, Any]]]:
    """Deterministic split by a hash of the prompt (`split_of`)."""
    if test_size <= 0:
        return {"train": rows}
    out: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for row in rows:
        out[split_of(row, test_size)].append(row)
    return out
