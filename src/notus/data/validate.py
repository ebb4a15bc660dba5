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

from notus.data.columns import CANONICAL_RATINGS, SCORE_TYPES, Irregular, RatedColumns
from notus.data.readers import Record, reject

NA_SPELLINGS = {"n/a", "na", "none", "null", ""}


class Quarantine(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


def _fix_rating(value: Any, where: str, repairs: Counter) -> str:
    if value is None or (isinstance(value, str) and value.strip().lower() in NA_SPELLINGS):
        if value != "N/A":
            repairs["N/A spelled differently -> N/A"] += 1
        return "N/A"
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise Quarantine(where, f"rating {value!r} is not 1-5 or N/A") from None
    if not 1 <= number <= 5 or number != int(number):  # NaN and infinities fail the range first
        raise Quarantine(where, f"rating {value!r} is outside 1-5 (allowed: 1, 2, 3, 4, 5, N/A)")
    if value != str(int(number)):  # 4, 4.0, "4.0" and " 4 " are all repairs
        repairs["rating written as number/padded text -> '1'..'5'"] += 1
    return str(int(number))


def _clean_completions(completions: list[Any]) -> bool:
    """Fast path: True when no completion of a row needs a repair (the common case), checked with
    a few set comprehensions per row instead of per-rating Python calls; anything else (including
    every row that will be quarantined) goes through `_fix_completion` and its exact messages."""
    try:
        if {type(c["response"]) for c in completions} - {str}:
            return False
        entries = [v for c in completions for v in c["annotations"].values()]
        if {type(v) for v in entries} - {dict} or not {v.get("Rating") for v in entries} <= CANONICAL_RATINGS:
            return False
        scores = [c.get("overall_score") for c in completions]
        return {type(s) for s in scores} <= SCORE_TYPES and all(1 <= s <= 10 for s in scores if s is not None)
    except (KeyError, TypeError, AttributeError):
        return False


def _fix_completion(c: Any, i: int, repairs: Counter) -> dict[str, Any]:
    if _clean_completions([c]):
        return c
    where = f"completions[{i}]"
    if not isinstance(c, dict):
        raise Quarantine(where, f"{where} is a {type(c).__name__}, expected an object")
    if not isinstance(c.get("response"), str):
        what = "missing" if "response" not in c else f"a {type(c['response']).__name__}"
        raise Quarantine(f"{where}.response", f"{where}.response is {what}, expected text")
    out = dict(c)
    annotations = c.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise Quarantine(
            f"{where}.annotations",
            f"{where}.annotations is a {type(annotations).__name__}, expected an object",
        )
    fixed = {}
    for aspect, value in annotations.items():
        entry = dict(value) if isinstance(value, dict) else {"Rating": value}
        entry["Rating"] = _fix_rating(entry.get("Rating"), f"{where}.annotations.{aspect}.Rating", repairs)
        fixed[aspect] = entry
    out["annotations"] = fixed
    score = c.get("overall_score")
    if isinstance(score, bool):  # float(True) is 1.0, but a bool is not a score
        raise Quarantine(
            f"{where}.overall_score", f"overall_score {score!r} is a boolean, expected a number 1-10"
        )
    if score is not None and score != "":
        try:
            number = float(score)
        except (TypeError, ValueError):
            raise Quarantine(f"{where}.overall_score", f"overall_score {score!r} is not a number") from None
        if not 1 <= number <= 10:  # NaN and infinities fail too
            raise Quarantine(f"{where}.overall_score", f"overall_score {score!r} is outside 1-10")
        if not isinstance(score, int | float):
            repairs["overall_score written as text -> number"] += 1
        out["overall_score"] = number
    else:
        out["overall_score"] = None
    return out


def _clean_rows(
    rows: list[dict[str, Any]], lists: list[list[Any] | None] | None = None
) -> tuple[list[bool], RatedColumns | None]:
    """Per row: a text `instruction`, a list of `completions` and `_clean_completions` true, checked
    over the flat columns of all rows at once (`RatedColumns.clean`), and those columns; irregular
    shapes (a completion that is not an object, ...) are checked row by row instead (no columns).
    `lists`: each row's completions, None where the row is not of that shape (`_row_fields`)."""
    if lists is None:
        lists = [_row_fields(r)[0] for r in rows]
    shaped = [cl is not None for cl in lists]
    try:
        cols = RatedColumns.of([cl if cl is not None else [] for cl in lists])
    except Irregular:
        return [s and _clean_completions(r["completions"]) for r, s in zip(rows, shaped)], None
    return (np.array(shaped, dtype=bool) & cols.clean()).tolist(), cols


def _row_fields(row: dict[str, Any]) -> tuple[list[Any] | None, Any, Any]:
    """(`completions`, or None unless `instruction` is text and `completions` a list; `id` or
    `prompt_id`; `source`) of a row."""
    completions = row.get("completions")
    return (
        completions if type(completions) is list and type(row.get("instruction")) is str else None,
        row.get("id", row.get("prompt_id")),
        row.get("source"),
    )


def _unique(ids: list[Any]) -> bool:
    """True when no two rows share an `id`/`prompt_id` (then no id can conflict)."""
    try:
        return len(set(ids)) == len(ids)
    except TypeError:  # an id that is a list or an object
        return False


def validate_rated(
    records: list[Record], progress: bool = False
) -> tuple[list[Record], list[dict[str, Any]], Counter, RatedColumns]:
    """Kept rated rows (a repaired row is a copy; a row that needs nothing is the input row),
    quarantined rows (rejects), a count of each repair applied, and the kept rows' completions as
    flat columns."""
    from tqdm import tqdm

    rows = [rec.row for rec in records]
    lists, ids, sources = zip(*map(_row_fields, rows)) if rows else ((), (), ())  # one pass over the rows
    clean, cols = _clean_rows(rows, list(lists))
    check_ids = not _unique(list(ids))
    if cols is not None and not check_ids and all(clean) and all(s or s == "" for s in sources):
        return list(records), [], Counter(), cols  # the common case: nothing to repair or quarantine
    kept, rejects, repairs = [], [], Counter()
    seen_ids: dict[Any, tuple[str, int]] = {}
    bar = tqdm(records, desc="validate", unit="row", disable=not progress or len(records) < 10000)
    for rec, fast in zip(bar, clean):
        row = rec.row
        if fast and not check_ids:  # the common case: nothing to repair, no shared id
            source = row.get("source")
            if source or source == "":
                kept.append(rec)  # unchanged rows are not copied
                continue
            repairs["missing source -> ''"] += 1
            kept.append(Record({**row, "source": ""}, rec.file, rec.line))
            continue
        try:
            if not isinstance(row.get("instruction"), str):
                raise Quarantine(
                    "instruction",
                    f"instruction is {'missing' if 'instruction' not in row else type(row['instruction']).__name__}, expected text",
                )
            if not isinstance(row.get("completions"), list):
                raise Quarantine("completions", "completions is not a list")
            completions = row["completions"]
            if not fast:
                completions = [_fix_completion(c, i, repairs) for i, c in enumerate(completions)]
            row_id = row.get("id", row.get("prompt_id"))
            if row_id is not None:
                key = row_id if isinstance(row_id, str | int | float) else json.dumps(row_id, default=str)
                if key in seen_ids and seen_ids[key][0] != row["instruction"]:
                    raise Quarantine(
                        "id",
                        f"id {row_id!r} already used at line {seen_ids[key][1]} for another instruction",
                    )
                seen_ids.setdefault(key, (row["instruction"], rec.line))
        except Quarantine as exc:
            rejects.append(reject(rec.file, rec.line, exc.field, str(exc), row))
            continue
        if not row.get("source") and row.get("source") != "":
            repairs["missing source -> ''"] += 1
        kept.append(
            Record({**row, "source": row.get("source") or "", "completions": completions}, rec.file, rec.line)
        )
    if cols is None or len(kept) < len(records) or not all(clean):  # repaired or quarantined: read again
        cols = RatedColumns.of([rec.row["completions"] for rec in kept])
    return kept, rejects, repairs, cols


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
