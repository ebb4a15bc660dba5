"""The format contract and registry shared by every reader of preference rows, and detection.

Each module (`rated.py`, `pairs.py`, `unpaired.py`) registers a format in `FORMATS` with
`@register(name, kind, detect, describe)` on its converter, which raises `RowError(field, reason)`
for a row it cannot map; that row is quarantined with file, line, field and reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notus.core.errors import DataError
from notus.core.registry import Registry
from notus.data.readers import Record, reject

ROLES = {"system", "user", "assistant"}
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant"}  # other roles are kept as they are


class RowError(ValueError):
    """A row that cannot be mapped; `field` names the offending field."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class Format:
    name: str
    kind: str  # rated | pairs | unpaired
    detect: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any]], dict[str, Any]]
    describe: str
    group: bool = False  # rows hold one completion each: gather them per instruction

    def to_canonical(self, records: list[Record]) -> tuple[list[Record], list[dict[str, Any]]]:
        out, rejects = [], []
        for rec in records:
            if not self.detect(rec.row):
                keys = ", ".join(sorted(rec.row)[:12])
                why = f"row does not match format {self.name} ({self.describe}); its keys: {keys}"
                rejects.append(reject(rec.file, rec.line, "<row>", why, rec.row))
                continue
            try:
                row = self.convert(rec.row)
                out.append(rec if row is rec.row else Record(row, rec.file, rec.line))  # unchanged: reused
            except RowError as exc:
                rejects.append(reject(rec.file, rec.line, exc.field, str(exc), rec.row))
            except (TypeError, AttributeError, KeyError, IndexError) as exc:  # a field of another shape
                why = (
                    f"row of format {self.name} has a field of the wrong shape ({type(exc).__name__}: {exc})"
                )
                rejects.append(reject(rec.file, rec.line, "<row>", why, rec.row))
        if self.group:
            out = group_records(out)
        return out, rejects


FORMATS: Registry[Format] = Registry("data format")


def register(name: str, kind: str, detect: Callable, describe: str, group: bool = False) -> Callable:
    """Decorator: register the function below as the `convert` of format `name`."""

    def add(convert: Callable) -> Callable:
        FORMATS.register(name)(Format(name, kind, detect, convert, describe, group))
        return convert

    return add


def messages(value: Any, field: str, default_role: str = "assistant") -> list[dict[str, str]]:
    """Text or a message list (TRL or ShareGPT keys) -> a list of {"role", "content"} messages."""
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise RowError(field, f"{field} is a {type(value).__name__}; expected text or a list of messages")
    out = []
    for i, m in enumerate(value):
        at = f"{field}[{i}]"
        if not isinstance(m, dict):
            raise RowError(at, f"{at} is a {type(m).__name__}; expected a message object")
        role = m.get("role", m.get("from"))
        content = m.get("content", m.get("value"))
        role = SHAREGPT_ROLES.get(role, role)
        if role not in ROLES:
            raise RowError(f"{at}.role", f"{at} has role {role!r}; expected one of {sorted(ROLES)}")
        if not isinstance(content, str):
            raise RowError(f"{at}.content", f"{at}.content is {type(content).__name__}, not text")
        out.append({"role": role, "content": content})
    return out


def score_value(value: Any) -> float | None:
    """A finite number, or None (a bool, NaN or text is not a score)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def pair(prompt: list, chosen: list, rejected: list, **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **extra}


def group_records(records: list[Record]) -> list[Record]:
    """Critique rows hold one completion each: gather the completions of each instruction."""
    merged: dict[str, Record] = {}
    for rec in records:
        key = rec.row["instruction"]
        if key in merged:
            merged[key].row["completions"] += rec.row["completions"]
        else:
            merged[key] = Record({**rec.row, "completions": list(rec.row["completions"])}, rec.file, rec.line)
    return list(merged.values())


def detect_format(records: list[Record], sample: int = 50) -> Format:
    """The one format matching the first rows; otherwise a DataError saying why and how to choose."""
    if not records:
        raise DataError("no readable rows, so the format cannot be detected")
    rows = [r.row for r in records[:sample]]
    votes = {name: sum(FORMATS.get(name).detect(r) for r in rows) for name in FORMATS.names()}
    full = [n for n, v in votes.items() if v == len(rows)]
    first = records[0]
    if len(full) == 1:
        return FORMATS.get(full[0])
    if len(full) > 1:
        raise DataError(
            f"{first.file}: ambiguous format, rows match {', '.join(full)} (keys: {', '.join(sorted(first.row))}); "
            f"choose one with --format {full[0]}"
        )
    best = max(votes, key=lambda n: votes[n])
    if votes[best] > len(rows) // 2:
        return FORMATS.get(best)  # a minority of malformed rows is quarantined later
    known = "; ".join(f"{n}: {FORMATS.get(n).describe}" for n in FORMATS.names())
    raise DataError(
        f"{first.file}:{first.line}: unknown format (keys: {', '.join(sorted(first.row)[:15])}). "
        f"Known formats: {known}. Choose one with --format NAME"
    )
