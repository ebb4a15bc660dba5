"""Evaluation input and output files: every problem is one `DataError` line naming the file, the line
(or byte offset) and what to do, never a Python traceback.

    rows = read_jsonl("model_judgment/gpt-4_single.jsonl", "MT-Bench judgment")   # [(line, row), ...]
    data = read_json("annotations.json", "alpaca_eval annotations")
    paths = distinct_inputs(args.annotations, "--annotations")
    write_text_atomic(out / "scores.json", strict_json(table), inputs=paths)

JSON lines are read by `notus.data.readers` (the reader of every stage); JSON documents and CSV
tables are read as bytes and decoded as UTF-8 (a BOM is allowed). JSON that is nested too deeply,
holds an integer too long for Python, or is not JSON at all is reported with its line. Outputs are
strict JSON (`allow_nan=False`: NaN is never written) and replace their file atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from notus.core.errors import DataError

MAX_PROBLEMS_SHOWN = 10  # an error or warning lists this many problems, then "and N more"
MAX_VALUE_CHARS = 60  # a value quoted in a message is cut to this many characters


def brief(value: Any) -> str:
    """`repr(value)`, cut to `MAX_VALUE_CHARS` so a huge bad value cannot flood the message."""
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def summarize(problems: list[str]) -> str:
    """Problems joined on one line: the first `MAX_PROBLEMS_SHOWN`, then how many more there are."""
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def _a_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give the {what} file itself")
    return path


def read_text(path: str | Path, what: str) -> str:
    """A UTF-8 text file's content; a missing, unreadable or non-UTF-8 file is a DataError."""
    path = _a_file(path, what)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: byte offset {exc.start} is not UTF-8 ({exc.reason}); save the file as UTF-8"
        ) from None


def parse_json(text: str, where: str) -> Any:
    """`json.loads` with its failures (syntax, nesting depth, huge integers) as one DataError line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply to read; flatten the data") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise DataError(f"{where}: unreadable JSON value ({exc})") from None


def read_json(path: str | Path, what: str) -> Any:
    """One JSON document from a file."""
    text = read_text(path, what)
    try:
        return parse_json(text, str(path))
    except DataError as exc:
        raise DataError(f"{exc}; expected the {what} format") from None


def read_jsonl(path: str | Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each row of a JSON lines file (or any file `notus.data.readers`
    reads: JSON, CSV, Parquet, gzip); all unreadable lines in one error."""
    from notus.data.readers import read_records

    path = _a_file(path, what)
    try:
        records, rejects = read_records(path, allow_nan=True)  # a NaN score is a failed judgment
    except DataError as exc:
        raise DataError(f"{exc}; expected the {what} format") from None
    if rejects:
        problems = [f"{r['file']}:{r['line']}: {r['reason']}" for r in rejects]
        raise DataError(f"{len(problems)} unreadable line(s) in the {what} file: {summarize(problems)}")
    return [(r.line, r.row) for r in records]


def distinct_inputs(paths: Iterable[str], option: str) -> list[str]:
    """The files given to `option`, refused when one is given twice (it would count twice)."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise DataError(
                f"{option}: {path} is given more than once (as {seen[key]!r} and {path!r}); "
                "give each file once, or its judgments would be counted twice"
            )
        seen[key] = path
    return list(paths)


def output_folder(path: str | Path) -> Path:
    """An `--output` folder, checked before any work: an existing file there is an error."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DataError(f"--output {path}: is a file, not a folder; give a folder for the results")
    return path


def strict_json(value: Any) -> str:
    """Indented JSON that other tools can read: NaN and infinities are refused, not written."""
    from notus.core.runs import strict_json as strict

    return strict(value, "the results", indent=2)


def write_text_atomic(path: str | Path, text: str, inputs: Iterable[str | Path] = ()) -> Path:
    """`text` written atomically (core.runs.atomic_write); an output that is an input is refused first."""
    from notus.core.runs import atomic_write, refuse_overwrite

    refuse_overwrite(inputs, {"--output": path})
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)
