"""Row validation: repair what a documented rule can repair, quarantine the rest, count everything.

    rows, rejects, repairs, columns = validate_rated(records)
    ledger = Ledger(rows_in=n); ledger.filter("duplicate prompt", 3); print(ledger.summary())
    notus data binarize INPUT -o OUT             # quarantined rows -> OUT.rejects.jsonl

Repair rules (rated rows; each repair is counted in the summary):
- a rating given as a number, " 4 ", "4.0" -> "4"; "n/a", "NA", "", None -> "N/A";
- an `overall_score` given as text ("8.5") -> 8.5; a missing or null `source` -> "";
- an `instruction` or `response` with surrounding whitespace is kept as is (it is data).
Quarantine rules (the row goes to the rejects file with file, line, field and reason):
- `instruction` missing or not text; `completions` not a list; a completion not an object or
  without a text `response`; `annotations` not an object;
- a rating that is not 1-5 or N/A (e.g. "6", "0", "abc"); an `overall_score` outside 1-10, NaN, not a
  number or a boolean (`true` is not 1.0);
- an `id`/`prompt_id` seen before on a row with a different instruction (a true duplicate row is
  not quarantined: the duplicate-prompt filter removes it and counts it).
Pair rows: a chosen or rejected list with no assistant message is quarantined.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from notus.data.columns import BLOCK, RatedColumns, RawColumns
from notus.data.readers import Record, reject

NA_SPELLINGS = {"n/a", "na", "none", "null", ""}
NA_REPAIR = "N/A spelled differently -> N/A"
RATING_REPAIR = "rating written as number/padded text -> '1'..'5'"
SCORE_REPAIR = "overall_score written as text -> number"
SOURCE_REPAIR = "missing source -> ''"


class Quarantine(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


def fix_rating(value: Any) -> tuple[str, str | None]:
    """A rating as "1".."5" or "N/A", and the repair made (None: it was already so); ValueError
    (the reason) when it is neither."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NA_SPELLINGS):
        return "N/A", None if value == "N/A" else NA_REPAIR
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"rating {value!r} is not 1-5 or N/A") from None
    if not 1 <= number <= 5 or number != int(number):  # NaN and infinities fail the range first
        raise ValueError(f"rating {value!r} is outside 1-5 (allowed: 1, 2, 3, 4, 5, N/A)")
    fixed = str(int(number))
    return fixed, None if value == fixed else RATING_REPAIR  # 4, 4.0, "4.0" and " 4 " are repairs


def fix_score(value: Any) -> tuple[float | int | None, str | None]:
    """An overall_score as a number in 1-10 or None (missing), and the repair made; ValueError (the
    reason) otherwise. A boolean is not a score (float(True) is 1.0)."""
    if isinstance(value, bool):
        raise ValueError(f"overall_score {value!r} is a boolean, expected a number 1-10")
    if value is None or value == "":
        return None, None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"overall_score {value!r} is not a number") from None
    if not 1 <= number <= 10:  # NaN and infinities fail too
        raise ValueError(f"overall_score {value!r} is outside 1-10")
    if isinstance(value, int | float):
        return value, None
    return number, SCORE_REPAIR


def _kept_as_is(values: list[Any], rule: Any, verdict: dict[tuple[type, Any], bool]) -> np.ndarray:
    """Per value: does `rule` accept it unchanged (no repair, no quarantine)? The rule runs once per
    distinct (type, value) (`verdict` remembers); an unhashable value (a list) is never accepted."""

    def accepted(value: Any) -> bool:
        try:
            fixed, repair = rule(value)
        except ValueError:
            return False
        return repair is None and type(fixed) is type(value) and fixed == value

    kinds = set(map(type, values))
    if kinds <= {str, float, type(None)}:  # no bool/int collisions: distinct values are enough
        bad = {v for v in set(values) if not verdict.setdefault((type(v), v), accepted(v))}
        if not bad:
            return np.ones(len(values), dtype=bool)
        return np.fromiter((v not in bad for v in values), dtype=bool, count=len(values))
    out = np.zeros(len(values), dtype=bool)
    for k, v in enumerate(values):
        try:
            key = (type(v), v)
            out[k] = verdict[key] if key in verdict else verdict.setdefault(key, accepted(v))
        except TypeError:  # unhashable
            out[k] = False
    return out


def _of_type(values: list[Any], kind: type) -> np.ndarray:
    """Per value: is it a `kind` (exactly)?"""
    if set(map(type, values)) <= {kind}:
        return np.ones(len(values), dtype=bool)
    return np.array([type(v) is kind for v in values], dtype=bool)


def _repair_completion(c: Any, i: int, repairs: Counter) -> dict[str, Any]:
    """One completion with every rule applied: the repaired copy, or Quarantine naming the field."""
    where = f"completions[{i}]"
    if not isinstance(c, dict):
        raise Quarantine(where, f"{where} is a {type(c).__name__}, expected an object")
    if not isinstance(c.get("response"), str):
        what = "missing" if "response" not in c else f"a {type(c['response']).__name__}"
        raise Quarantine(f"{where}.response", f"{where}.response is {what}, expected text")
    annotations = c.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise Quarantine(
            f"{where}.annotations",
            f"{where}.annotations is a {type(annotations).__name__}, expected an object",
        )
    fixed = {}
    for aspect, value in annotations.items():
        entry = dict(value) if isinstance(value, dict) else {"Rating": value}
        try:
            entry["Rating"], repair = fix_rating(entry.get("Rating"))
        except ValueError as exc:
            raise Quarantine(f"{where}.annotations.{aspect}.Rating", str(exc)) from None
        repairs.update([repair] if repair else [])
        fixed[aspect] = entry
    try:
        score, repair = fix_score(c.get("overall_score"))
    except ValueError as exc:
        raise Quarantine(f"{where}.overall_score", str(exc)) from None
    repairs.update([repair] if repair else [])
    return {**c, "annotations": fixed, "overall_score": score}


def _repair_row(row: dict[str, Any], repairs: Counter) -> dict[str, Any]:
    """One rated row with every rule applied: a repaired copy, or Quarantine naming the field."""
    if not isinstance(row.get("instruction"), str):
        what = "missing" if "instruction" not in row else type(row["instruction"]).__name__
        raise Quarantine("instruction", f"instruction is {what}, expected text")
    if not isinstance(row.get("completions"), list):
        raise Quarantine("completions", "completions is not a list")
    completions = [_repair_completion(c, i, repairs) for i, c in enumerate(row["completions"])]
    if not row.get("source") and row.get("source") != "":
        repairs[SOURCE_REPAIR] += 1
    return {**row, "source": row.get("source") or "", "completions": completions}


def _id_key(row_id: Any) -> Any:
    """An id as a dict key (a list or an object as its JSON text)."""
    return (
        row_id if row_id is None or isinstance(row_id, str | int | float) else json.dumps(row_id, default=str)
    )


def validate_rated(
    records: list[Record], seen_ids: dict[Any, tuple[str, int]] | None = None
) -> tuple[list[Record], list[dict[str, Any]], Counter, RatedColumns]:
    """Kept rated rows (a repaired row is a copy; a row that needs nothing is the input row),
    quarantined rows (rejects), a count of each repair applied, and the kept rows as columns.

    The rules are read over columns, `BLOCK` rows at a time (`_validate_block`). `seen_ids`:
    instruction and line of every id seen so far (carried over when the input comes in parts)."""
    seen_ids = {} if seen_ids is None else seen_ids
    verdicts: dict[Any, dict] = {"rating": {}, "score": {}}
    kept, rejects, repairs, raws = [], [], Counter(), []
    for lo in range(0, len(records), BLOCK):
        block_kept, block_rejects, raw = _validate_block(
            records[lo : lo + BLOCK], seen_ids, repairs, verdicts
        )
        kept += block_kept
        rejects += block_rejects
        raws.append(raw)
    return kept, rejects, repairs, RatedColumns.read([], RawColumns.concat(raws))


def _validate_block(
    records: list[Record], seen_ids: dict[Any, tuple[str, int]], repairs: Counter, verdicts: dict[Any, dict]
) -> tuple[list[Record], list[dict[str, Any]], RawColumns]:
    """A row whose every value each rule accepts as it is stays as it is; any other row goes through
    the rules one field at a time (`_repair_row`), which repairs it or names the first field that
    cannot be repaired. Returns the kept rows, the rejects and the kept rows' raw columns."""
    rows = [rec.row for rec in records]
    raw = RawColumns.read_block(rows)
    completion_ok = (
        _kept_as_is(raw.overall, fix_score, verdicts["score"])
        & _of_type(raw.completions, dict)
        & _of_type(raw.responses, str)
        & _of_type(raw.annotations, dict)
    )
    entry_bad = ~_kept_as_is(raw.ratings, fix_rating, verdicts["rating"]) | raw.bare
    if entry_bad.any():
        completion_ok[np.repeat(np.arange(len(raw.entries)), raw.entries)[entry_bad]] = False
    row_ok = np.ones(len(rows), dtype=bool)
    row_ok[np.repeat(np.arange(len(rows)), raw.counts)[~completion_ok]] = False
    sources = [r.get("source") for r in rows]
    row_ok &= _of_type([r.get("instruction") for r in rows], str) & _of_type(
        [r.get("completions") for r in rows], list
    )
    if not all(sources):  # a missing or null source is repaired; "" is a source
        row_ok &= np.array([s or s == "" for s in sources], dtype=bool)
    ids = [r.get("id", r.get("prompt_id")) for r in rows]
    if not set(map(type, ids)) <= {str, int, float, type(None)}:
        ids = list(map(_id_key, ids))
    if ids.count(None) < len(ids) and not (len(set(ids)) == len(ids) and seen_ids.keys().isdisjoint(ids)):
        here: dict[Any, Any] = {}
        for k, (row, key) in enumerate(zip(rows, ids)):  # an id seen before for another instruction
            if key is not None:
                earlier = (
                    seen_ids[key][0] if key in seen_ids else here.setdefault(key, row.get("instruction"))
                )
                row_ok[k] &= earlier == row.get("instruction")
    if row_ok.all():
        for row, key, rec in zip(rows, ids, records):
            if key is not None:
                seen_ids.setdefault(key, (row["instruction"], rec.line))
        return records, [], raw
    kept, rejects = [], []
    for rec, ok, key in zip(records, row_ok.tolist(), ids):
        found = Counter()  # this row's repairs, counted if it is kept
        try:
            row = rec.row if ok else _repair_row(rec.row, found)
            if key is not None and key in seen_ids and seen_ids[key][0] != row["instruction"]:
                raise Quarantine("id", f"id {rec.row.get('id', rec.row.get('prompt_id'))!r} already used "
                                       f"at line {seen_ids[key][1]} for another instruction")  # fmt: skip
        except Quarantine as exc:
            rejects.append(reject(rec.file, rec.line, exc.field, str(exc), rec.row))
            continue
        repairs.update(found)
        if key is not None:
            seen_ids.setdefault(key, (row["instruction"], rec.line))
        kept.append(rec if row is rec.row else Record(row, rec.file, rec.line))
    return kept, rejects, RawColumns.read_block([rec.row for rec in kept])


def validate_pairs(records: list[Record], keys: tuple[str, ...]) -> tuple[list[Record], list[dict[str, Any]]]:
    """Pair/unpaired rows: every response list must hold an assistant message."""
    kept, rejects = [], []
    for rec in records:
        bad = next((k for k in keys if not any(m["role"] == "assistant" for m in rec.row[k])), None)
        if bad:
            rejects.append(reject(rec.file, rec.line, bad, f"{bad} has no assistant message", rec.row))
        else:
            kept.append(rec)
    return kept, rejects


@dataclass
class Ledger:
    """Rows in = rows out + rows filtered (by reason) + rows quarantined; checked, never assumed."""

    rows_in: int = 0
    filtered: Counter = field(default_factory=Counter)
    quarantined: int = 0
    repairs: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def filter(self, reason: str, n: int = 1) -> None:
        if n:
            self.filtered[reason] += n

    @property
    def rows_out(self) -> int:
        return self.rows_in - sum(self.filtered.values()) - self.quarantined

    def check(self, rows_out: int) -> None:
        if rows_out != self.rows_out:
            raise AssertionError(f"row accounting is off: {rows_out} rows out, ledger says {self.rows_out}")

    def summary(self) -> str:
        reasons = ", ".join(f"{r}: {n}" for r, n in self.filtered.most_common()) or "none"
        line = (
            f"rows in {self.rows_in} = rows out {self.rows_out} + filtered {sum(self.filtered.values())} "
            f"({reasons}) + quarantined {self.quarantined}"
        )
        extra = (
            [f"repaired: {', '.join(f'{r} x{n}' for r, n in self.repairs.items())}"] if self.repairs else []
        )
        return "\n".join([line, *extra, *self.notes])

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "filtered": dict(self.filtered),
            "quarantined": self.quarantined,
            "repairs": dict(self.repairs),
            "notes": list(self.notes),
        }
