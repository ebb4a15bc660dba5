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

import json
import os
from pathlib import Path
from typing import Any

from notus.core.errors import DataError, NotusError
from notus.core.runs import atomic_write, strict_json

PROMPT_COLUMNS = ("instruction", "prompt")


def _prompt_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # a message list: the first user turn
        for message in value:
            if isinstance(message, dict) and message.get("role") == "user":
                return str(message.get("content", ""))
    return None


def read_located(path: str | Path, split: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(location, record) pairs from a file (JSONL, JSON, CSV, Parquet), a `datasets` folder or a Hub
    id, read by `notus.data.readers`; a line that cannot be read is an error naming it."""
    from notus.data.readers import read_rows

    return [(f"{r.file}:{r.line}", r.row) for r in read_rows(path, split)]


def _answers(record: dict[str, Any], key: str, where: str) -> list[str]:
    """`correct_answers` / `incorrect_answers`: a list of texts (a text is not a list of letters)."""
    value = record.get(key)
    if value is None or value == "":  # an empty CSV cell
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(
            f"{where}: field {key!r} is {json.dumps(value, ensure_ascii=False, default=str)[:60]}, expected a list of "
            f'texts, e.g. ["{value if isinstance(value, str) else "answer"}"]'
        )
    return value


def load_prompts(source: str, split: str = "train", limit: int | None = None) -> list[dict[str, Any]]:
    """Prompt rows with an `instruction` (from an `instruction` or `prompt` column) and a `source`."""
    path = Path(source)
    if path.exists():
        records = read_located(path)
        name = path.stem
    elif "/" in source and not source.startswith((".", "/")):  # a Hub id (online, or the HF cache)
        records = read_located(source, split)
        name = source
    else:
        raise DataError(f"prompt file {source!r} does not exist (nor is it a Hub dataset id like org/name)")
    if not records:
        raise DataError(f"{source}: no prompt rows (the file is empty)")
    rows, problems = [], []
    for where, record in records if limit is None else records[:limit]:
        try:
            if not isinstance(record, dict):
                raise DataError(f"{where}: expected an object with an 'instruction' or 'prompt' field")
            column = next((c for c in PROMPT_COLUMNS if c in record), None)
            text = _prompt_text(record[column]) if column else None
            if not text or not text.strip():
                raise DataError(
                    f"{where}: field {column or 'instruction'!r} is missing or empty; every prompt row needs "
                    f"a non-empty 'instruction' or 'prompt' (string or message list)"
                )
            answers = {key: _answers(record, key, where) for key in ("correct_answers", "incorrect_answers")}
        except DataError as exc:
            problems.append(str(exc))
            continue
        rows.append({"source": str(record.get("source") or name), "instruction": text, **answers})
    if problems:
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise DataError(f"{len(problems)} bad prompt row(s):\n  " + "\n  ".join(problems[:10]) + more)
    return rows


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    return [r for _, r in read_located(Path(path))]


def cache_path(output: str | Path) -> Path:
    return Path(f"{output}.cache.sqlite")


class ResumableOutput:
    """Append-only JSONL output that a re-run continues; `settings` must match the earlier run.

    Only a file this class started (a `<output>.settings.json` beside it) is resumed; any other
    existing non-empty file is refused, never appended to or cut."""

    def __init__(self, path: str | Path, settings: dict[str, Any], expected: list[str]):
        self.path = Path(path)
        self.expected = expected
        meta = Path(f"{self.path}.settings.json")
        settings_json = json.dumps(settings, sort_keys=True, ensure_ascii=False)
        if self.path.is_dir():
            raise NotusError(
                f"-o {self.path} is a folder; give a file name such as {self.path / 'out.jsonl'}"
            )
        if self.path.exists() and self.path.stat().st_size and not meta.exists():
            raise NotusError(
                f"{self.path} already exists and was not written by `notus feedback` (no {meta.name} beside "
                f"it); notus resumes only its own outputs: choose a new output path"
            )
        if self.path.exists() and meta.exists() and meta.read_text(encoding="utf-8") != settings_json:
            raise NotusError(
                f"{self.path} was started with other settings (see {meta}); re-run with the same "
                f"options to resume, or choose a new output path"
            )
        self.done = self._recover()
        with atomic_write(meta) as fh:
            fh.write(settings_json)
        self._fh = self.path.open("a", encoding="utf-8")

    def _recover(self) -> int:
        """Rows already written; a last line cut by a kill (not valid JSON) is removed, a complete
        last line without its newline is kept and given one."""
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        lines = data[:cut].splitlines()
        tail = data[cut:]
        if tail.strip():
            try:
                json.loads(tail)
                lines.append(tail)
                tail_kept = True
            except ValueError:  # half a row: the rest was never written
                tail_kept = False
            with self.path.open("r+b") as fh:
                if tail_kept:
                    fh.seek(0, os.SEEK_END)
                    fh.write(b"\n")
                else:
                    fh.truncate(cut)
        rows = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise NotusError(
                    f"{self.path}:{n}: not a row written by notus (not valid JSON); choose a new output path"
                ) from None
        for i, row in enumerate(rows):
            if (
                i >= len(self.expected)
                or not isinstance(row, dict)
                or row.get("instruction") != self.expected[i]
            ):
                raise NotusError(
                    f"{self.path}:{i + 1} does not match input row {i + 1}; it was made from another "
                    f"input. Choose a new output path or delete {self.path}"
                )
        return len(rows)

    def todo(self) -> range:
        return range(self.done, len(self.expected))

    def append(self, row: dict[str, Any]) -> None:
        self._fh.write(strict_json(row, f"{self.path} row {self.done + 1}") + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done += 1

    def close(self) -> None:
        self._fh.close()
