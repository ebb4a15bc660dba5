"""Inputs and crash-safe outputs of the feedback steps.

    prompts = load_prompts("prompts.jsonl")            # [{"instruction", "source", ...}]
    out = ResumableOutput("rated.jsonl", settings={...}, expected=[row["instruction"] for row in rows])
    for i in out.todo(): ...; out.append(row)          # each finished row is flushed and fsynced

A re-run with the same output file keeps the rows already written (a half-written last line from a
kill is cut off), checks they belong to the same input and settings, and continues after them.
Every model call goes through the request cache next to the output (`<output>.cache.sqlite`), so
the requests of the rows in flight at the kill are answered from the cache, not sent again.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from notus.core.errors import DataError, NotusError

PROMPT_COLUMNS = ("instruction", "prompt")


def _prompt_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # a message list: the first user turn
        for message in value:
            if isinstance(message, dict) and message.get("role") == "user":
                return str(message.get("content", ""))
    return None


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, record) pairs from JSONL, JSON, CSV or Parquet."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        out = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append((f"{path}:{n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not valid JSON ({exc.msg}); fix or remove the line") from None
        return out
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of objects (or an object holding one)")
        return [(f"{path}[{i}]", r) for i, r in enumerate(data)]
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return [(f"{path}:{n}", r) for n, r in enumerate(csv.DictReader(fh), 2)]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return [(f"{path} row {i}", r) for i, r in enumerate(pq.read_table(path).to_pylist())]
    raise DataError(f"{path}: unsupported prompt file type {suffix!r}; use .jsonl, .json, .csv or .parquet")


def load_prompts(source: str, split: str = "train", limit: int | None = None) -> list[dict[str, Any]]:
    """Prompt rows with an `instruction` (from an `instruction` or `prompt` column) and a `source`."""
    path = Path(source)
    if path.exists():
        records = _records(path)
        name = path.stem
    elif "/" in source and not source.startswith((".", "/")):
        from datasets import load_dataset  # a Hub dataset id (online, or from the HF cache)

        records = [(f"{source}[{i}]", r) for i, r in enumerate(load_dataset(source, split=split))]
        name = source
    else:
        raise DataError(f"prompt file {source!r} does not exist (nor is it a Hub dataset id like org/name)")
    rows = []
    for where, record in records[:limit] if limit else records:
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected an object with an 'instruction' or 'prompt' field")
        column = next((c for c in PROMPT_COLUMNS if c in record), None)
        text = _prompt_text(record[column]) if column else None
        if not text or not text.strip():
            raise DataError(
                f"{where}: field {column or 'instruction'!r} is missing or empty; every prompt row needs "
                f"a non-empty 'instruction' or 'prompt' (string or message list)"
            )
        rows.append(
            {
                "source": str(record.get("source") or name),
                "instruction": text,
                "correct_answers": list(record.get("correct_answers") or []),
                "incorrect_answers": list(record.get("incorrect_answers") or []),
            }
        )
    return rows


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    return [r for _, r in _records(Path(path))]


def cache_path(output: str | Path) -> Path:
    return Path(f"{output}.cache.sqlite")


class ResumableOutput:
    """Append-only JSONL output that a re-run continues; `settings` must match the earlier run."""

    def __init__(self, path: str | Path, settings: dict[str, Any], expected: list[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.expected = expected
        meta = Path(f"{self.path}.settings.json")
        settings_json = json.dumps(settings, sort_keys=True, ensure_ascii=False)
        if self.path.exists() and meta.exists() and meta.read_text(encoding="utf-8") != settings_json:
            raise NotusError(
                f"{self.path} was started with other settings (see {meta}); re-run with the same "
                f"options to resume, or choose a new output path"
            )
        meta.write_text(settings_json, encoding="utf-8")
        self.done = self._recover()
        self._fh = self.path.open("a", encoding="utf-8")

    def _recover(self) -> int:
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        keep = data[: data.rfind(b"\n") + 1]  # a line cut by a kill has no newline yet
        if len(keep) != len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(len(keep))
        rows = [json.loads(line) for line in keep.decode("utf-8").splitlines() if line.strip()]
        for i, row in enumerate(rows):
            if i >= len(self.expected) or row.get("instruction") != self.expected[i]:
                raise NotusError(
                    f"{self.path}:{i + 1} does not match input row {i + 1}; it was made from another "
                    f"input. Choose a new output path or delete {self.path}"
                )
        return len(rows)

    def todo(self) -> range:
        return range(self.done, len(self.expected))

    def append(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done += 1

    def close(self) -> None:
        self._fh.close()
