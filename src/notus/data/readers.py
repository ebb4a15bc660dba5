"""Read and write preference data files: JSONL, Python-dict JSONL, JSON, Parquet, CSV, `datasets`
folders and Hub ids. Every row keeps where it came from (file, line) so errors can name it.

    records, rejects = read_records("data.jsonl")
    notus data inspect INPUT                    # reads through here
    write_rows(rows, "out.parquet")

Rules (documented in docs/data.md):
- JSONL: one object per line; blank lines are not rows; a UTF-8 BOM is removed; a line that is not
  valid UTF-8 or not a JSON object is quarantined (file, line, reason), never dropped silently.
- `*.pydict.jsonl` (or a JSONL line starting with `{'`): one Python dict literal per line, parsed
  with `ast.literal_eval` (never `eval`).
- JSON: a list of objects, an object holding one list (`data`, `rows`, `train`...), or one object.
- CSV: cells that hold JSON lists/objects (as written by `write_rows`) are decoded.
- A folder is read with `datasets.load_from_disk` (all splits, in order); a path that does not exist
  but looks like `owner/name` is loaded from the Hugging Face Hub with `datasets.load_dataset`.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notus.core.errors import DataError

HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(slots=True)
class Record:
    """One input row and where it came from (line is 1-based; item index for JSON/Parquet)."""

    row: dict[str, Any]
    file: str
    line: int


def reject(file: str, line: int, field: str, reason: str, raw: Any = None) -> dict[str, Any]:
    """A quarantined input: what was wrong, where, and (truncated) what it held."""
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return {"file": file, "line": line, "field": field, "reason": reason, "raw": (text or "")[:500]}


def read_records(path: str | Path, split: str | None = None) -> tuple[list[Record], list[dict[str, Any]]]:
    """All rows of a file/folder/Hub id as Records, plus the inputs that could not be read."""
    p = Path(path)
    if p.is_dir():
        return _read_dataset_folder(p, split), []
    if not p.exists():
        if HUB_ID.match(str(path)) and not str(path).endswith((".json", ".jsonl", ".csv", ".parquet")):
            return _read_hub(str(path), split), []
        raise DataError(f"{path}: no such file or folder (and not a Hub id like 'owner/name')")
    name = p.name.lower()
    if name.endswith(".parquet"):
        return _read_parquet(p), []
    if name.endswith(".csv"):
        return _read_csv(p)
    if name.endswith(".json"):
        return _read_json(p)
    return _read_jsonl(p, python_literals=name.endswith(".pydict.jsonl"))


def _read_jsonl(p: Path, python_literals: bool) -> tuple[list[Record], list[dict[str, Any]]]:
    records, rejects = [], []
    with p.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                rejects.append(
                    reject(str(p), number, "<line>", f"invalid UTF-8 at byte {exc.start}", repr(raw[:200]))
                )
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            text = text.strip()
            if not text:
                continue
            try:
                if python_literals or text.startswith("{'"):
                    value = ast.literal_eval(text)
                else:
                    value = json.loads(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
                kind = "Python literal" if python_literals or text.startswith("{'") else "JSON"
                msg = getattr(exc, "msg", None) or str(exc).split("\n")[0]
                rejects.append(reject(str(p), number, "<line>", f"not valid {kind} ({msg})", text))
                continue
            if not isinstance(value, dict):
                rejects.append(
                    reject(str(p), number, "<line>", f"a {type(value).__name__}, expected an object", text)
                )
                continue
            records.append(Record(value, str(p), number))
    return records, rejects


def _read_json(p: Path) -> tuple[list[Record], list[dict[str, Any]]]:
    try:
        data = json.loads(p.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        return [], [
            reject(str(p), 1, "<file>", f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8")
        ]
    except json.JSONDecodeError as exc:
        return [], [reject(str(p), exc.lineno, "<file>", f"not valid JSON ({exc.msg}, column {exc.colno})")]
    if isinstance(data, dict):
        lists = [
            k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ]
        data = data[lists[0]] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        return [], [
            reject(str(p), 1, "<file>", f"a JSON {type(data).__name__}, expected a list of objects", data)
        ]
    records, rejects = [], []
    for i, value in enumerate(data, start=1):
        if isinstance(value, dict):
            records.append(Record(value, str(p), i))
        else:
            rejects.append(
                reject(
                    str(p), i, "<item>", f"item {i} is a {type(value).__name__}, expected an object", value
                )
            )
    return records, rejects


def _decode_cell(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _read_csv(p: Path) -> tuple[list[Record], list[dict[str, Any]]]:
    records, rejects = [], []
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                line = reader.line_num
                if None in row:
                    rejects.append(
                        reject(str(p), line, "<line>", "more cells than header columns", row[None])
                    )
                    continue
                missing = [k for k, v in row.items() if v is None]
                if missing:
                    rejects.append(reject(str(p), line, missing[0], "fewer cells than header columns", row))
                    continue
                records.append(Record({k: _decode_cell(v) for k, v in row.items()}, str(p), line))
    except UnicodeDecodeError as exc:
        rejects.append(reject(str(p), 0, "<file>", f"invalid UTF-8 at byte {exc.start}; re-encode as UTF-8"))
    except csv.Error as exc:
        rejects.append(reject(str(p), 0, "<file>", f"not valid CSV ({exc})"))
    return records, rejects


def _read_parquet(p: Path) -> list[Record]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(p).to_pylist()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{p}: not a readable Parquet file ({exc})") from None
    return [Record(r, str(p), i) for i, r in enumerate(rows, start=1)]


def _dataset_records(ds: Any, name: str) -> list[Record]:
    from datasets import DatasetDict

    if isinstance(ds, DatasetDict):
        out = []
        for split_name, part in ds.items():
            out += [Record(r, f"{name}[{split_name}]", i) for i, r in enumerate(part, start=1)]
        return out
    return [Record(r, name, i) for i, r in enumerate(ds, start=1)]


def _read_dataset_folder(p: Path, split: str | None) -> list[Record]:
    from datasets import load_from_disk

    try:
        ds = load_from_disk(str(p))
    except Exception as exc:  # datasets raises FileNotFoundError or its own errors
        raise DataError(f"{p}: not a `datasets` folder saved with save_to_disk ({exc})") from None
    if split is not None and hasattr(ds, "keys"):
        if split not in ds:
            raise DataError(f"{p}: no split {split!r}; it has {sorted(ds.keys())}")
        ds = ds[split]
    return _dataset_records(ds, str(p))


def _read_hub(repo_id: str, split: str | None) -> list[Record]:
    from datasets import load_dataset

    try:
        ds = load_dataset(repo_id, split=split)
    except Exception as exc:  # offline, unknown id, gated ...
        raise DataError(f"{repo_id}: could not load from the Hugging Face Hub ({exc})") from None
    return _dataset_records(ds, repo_id)


def _jsonable_cells(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in row.items()}


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows by the path's suffix: .jsonl, .json, .parquet, .csv; no suffix = `datasets` folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    name = p.name.lower()
    if name.endswith(".jsonl"):
        with p.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif name.endswith(".json"):
        p.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    elif name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), p)
    elif name.endswith(".csv"):
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with p.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(_jsonable_cells(r) for r in rows)
    elif p.suffix == "":
        from datasets import Dataset

        Dataset.from_list(rows).save_to_disk(str(p))
    else:
        raise DataError(f"{p}: unknown output type; use .jsonl, .json, .parquet, .csv or a folder name")
    return p
