"""Read and write preference data files: JSONL, Python-dict JSONL, JSON, Parquet, CSV, `datasets`
folders and Hub ids. Every row keeps where it came from (file, line) so errors can name it.

    records, rejects = read_records("data.jsonl")   # rows that cannot be read are quarantined
    records = read_rows("questions.jsonl")          # ... or an error naming file:line (no rejects file)
    write_rows(rows, "out.parquet")

Rules (documented in docs/data.md):
- JSONL: one object per line; blank lines are not rows; a UTF-8 BOM is removed; a line that is not
  valid UTF-8 or not a JSON object is quarantined (file, line, reason), never dropped silently.
- `*.pydict.jsonl` (or a JSONL line starting with `{'`): one Python dict literal per line, parsed
  with `ast.literal_eval` (never `eval`).
- JSON: a list of objects, an object holding one list (`data`, `rows`, `train`...), or one object
  (one row: an object with an `instruction`, `prompt`, `messages`... key is never unwrapped).
- The content decides, not the name: a file starting with `[` is a JSON array, a `.json` file that
  holds JSON lines is read as JSON lines, gzip is recognised by its magic bytes (any name), and so is
  Parquet; zip archives and other binary files are refused with a clear error.
- CSV: any cell size; an unclosed quote is an error naming the line where its row starts; cells that
  hold JSON lists/objects (as written by `write_rows`) are decoded.
- A folder is read with `datasets.load_from_disk` (all splits, in order); a path that does not exist
  but looks like `owner/name` is loaded from the Hugging Face Hub with `datasets.load_dataset`
  (`config` names its configuration).
Every stage (curation, training, feedback, decontamination, evaluation, `notus run`) reads through here.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

from notus.core.errors import DataError
from notus.core.runs import atomic_path, strict_json, write_jsonl

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


ROW_KEYS = frozenset({"instruction", "prompt", "messages", "conversations", "chosen", "question"})
GZIP_MAGIC, PARQUET_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PAR1", b"PK\x03\x04"
Part = tuple[list[Record], list[dict[str, Any]]]  # the rows read and the rejects (rows that could not be)


def read_records(
    path: str | Path, split: str | None = None, config: str | None = None, allow_nan: bool = False
) -> Part:
    """All rows of a file/folder/Hub id as Records, plus the inputs that could not be read.
    `allow_nan` reads NaN/Infinity as floats (what Python's `json.dump` writes; e.g. judge scores)."""
    records, rejects = [], []
    for part, bad in read_parts(path, split, config=config, allow_nan=allow_nan):
        records += part
        rejects += bad
    return records, rejects


def read_parts(
    path: str | Path,
    split: str | None = None,
    size: int = 65536,
    config: str | None = None,
    allow_nan: bool = False,
) -> Iterator[Part]:
    """`read_records` a part at a time: JSON lines (gzipped too), Parquet, `datasets` folders and Hub
    datasets `size` rows at a time; CSV and JSON documents are one part."""
    p = Path(path)
    if p.is_dir():
        yield from _dataset_parts(str(p), split, None, False, size)
    elif p.exists():
        try:
            yield from _file_parts(p, LENIENT_JSON if allow_nan else STRICT_JSON, size)
        except OSError as exc:
            raise DataError(
                f"{p}: cannot read it ({exc.strerror or exc}); check the path and its permissions"
            ) from None
    elif HUB_ID.match(str(path)) and not str(path).endswith((".json", ".jsonl", ".csv", ".parquet")):
        yield from _dataset_parts(str(path), split, config, True, size)
    else:
        raise DataError(f"{path}: no such file or folder (and not a Hub id like 'owner/name')")


def read_rows(path: str | Path, split: str | None = None, config: str | None = None) -> list[Record]:
    """`read_records` for a stage that keeps no rejects file: a row that cannot be read is an error
    naming its file:line (and how many more there are)."""
    records, rejects = read_records(path, split, config)
    if rejects:
        earliest, more = rejects[0], len(rejects) - 1
        also = f" (and {more} more unreadable row(s))" if more else ""
        raise DataError(
            f"{earliest['file']}:{earliest['line']}: {earliest['reason']}{also}; fix or remove the row"
        )
    return records


def _file_parts(p: Path, decoder: json.JSONDecoder, size: int) -> Iterator[Part]:
    """By content first (gzip, Parquet, JSON array vs JSON lines), then by the file name."""
    with p.open("rb") as fh:
        head = fh.read(4096)
    name = p.name.lower()
    if head.startswith(PARQUET_MAGIC) or name.endswith(".parquet"):
        yield from _parquet_parts(p, size)
        return
    compressed = head.startswith(GZIP_MAGIC)
    if compressed:  # JSON lines are streamed from the gzip file; CSV and JSON are read whole
        with _gzip_errors(p), gzip.open(p, "rb") as fh:
            head = fh.read(4096)
        name = name.removesuffix(".gz")
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"{p}: UTF-16 text, which is not UTF-8; re-encode it (e.g. `iconv -f utf-16 -t utf-8`)"
        )
    elif head.startswith(ZIP_MAGIC) or b"\x00" in head:
        what = "a zip archive (or .xlsx)" if head.startswith(ZIP_MAGIC) else "a binary file"
        raise DataError(
            f"{p}: {what}, not JSON lines, JSON, CSV or Parquet; unpack or export it as .jsonl first"
        )

    def whole() -> bytes:
        with _gzip_errors(p):
            return gzip.decompress(p.read_bytes()) if compressed else p.read_bytes()

    opening = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if name.endswith(".csv"):
        yield _read_csv(p, whole())
        return
    if opening == b"[" or name.endswith(".json"):
        with contextlib.suppress(_NotOneDocument):  # several JSON values: JSON lines, whatever the name says
            yield _read_json(p, whole(), decoder)
            return
    with _gzip_errors(p), gzip.open(p, "rb") if compressed else p.open("rb") as fh:
        parts = _jsonl_parts(p, fh, name.endswith(".pydict.jsonl"), decoder, size)
        first = next(parts)
        if not first[0] and first[1] and opening == b"{":  # one object spread over several lines
            with contextlib.suppress(_NotOneDocument, DataError):
                yield _read_json(p, whole(), decoder)
                return
        yield first
        yield from parts


@contextlib.contextmanager
def _gzip_errors(p: Path) -> Iterator[None]:
    """A damaged gzip file (found when it is opened or part-way through) as one DataError."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{p}: a damaged gzip file ({exc}); re-create it, or check it with `gunzip -t`"
        ) from None


def _decode(p: Path, data: bytes) -> str:
    """The file's text (UTF-8, BOM removed); an error names the line and byte offset otherwise."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{p}:{line}: invalid UTF-8 at byte offset {exc.start}; re-encode the file as UTF-8 "
            f"(e.g. `iconv -f latin1 -t utf-8`)"
        ) from None


class _Constant(ValueError):
    """NaN or Infinity, which Python's json reads but JSON does not have."""


def _no_constants(name: str) -> Any:
    raise _Constant(f"{name} is not valid JSON (use null or a number)")


STRICT_JSON = json.JSONDecoder(parse_constant=_no_constants)  # one decoder, not one per line
LENIENT_JSON = json.JSONDecoder()  # NaN and Infinity read as floats
_MSGSPEC = msgspec.json.Decoder()


def _decode_json(text: str, decoder: json.JSONDecoder) -> Any:
    """One JSON value. Strict JSON is read by msgspec first (64,000 raw UltraFeedback lines: 0.76 s
    of CPU, 1.6 s with `json`); what it refuses (a lone surrogate, a number out of range, bad JSON)
    goes to `json`, which reads it as before or raises the error the reject names."""
    if decoder is STRICT_JSON:
        with contextlib.suppress(msgspec.DecodeError):
            return _MSGSPEC.decode(text)
    return decoder.decode(text)


class _NotOneDocument(Exception):
    """The text holds several JSON values one after another (JSON lines)."""


def _read_json(p: Path, data: bytes, decoder: json.JSONDecoder) -> Part:
    text = _decode(p, data)
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise _NotOneDocument from None
        raise DataError(
            f"{p}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}, byte offset {exc.pos}); "
            f"fix the file or write one object per line (.jsonl)"
        ) from None
    except ValueError as exc:  # NaN / Infinity
        match = re.search(r"\b(NaN|-?Infinity)\b", text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        raise DataError(f"{p}:{line}: {exc}") from None
    except RecursionError:
        raise DataError(f"{p}: JSON nested too deeply to read; flatten the file") from None
    if isinstance(data, dict):
        lists = [
            k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ]
        is_row = not ROW_KEYS.isdisjoint(data)  # one row (its `completions` are not the rows)
        data = data[lists[0]] if len(lists) == 1 and not is_row else [data]
    if not isinstance(data, list):
        raise DataError(f"{p}: a JSON {type(data).__name__}, expected a list of objects (or one object)")
    records, rejects = [], []
    for i, value in enumerate(data, start=1):
        if isinstance(value, dict):
            records.append(Record(value, str(p), i))
        else:
            why = f"item {i} is a {type(value).__name__}, expected an object"
            rejects.append(reject(str(p), i, "<item>", why, value))
    return records, rejects


def _jsonl_parts(
    p: Path, fh: IO[bytes], python_literals: bool, decoder: json.JSONDecoder, size: int
) -> Iterator[Part]:
    """The rows of a JSON lines file, `size` lines at a time (and the lines that could not be read)."""
    records, rejects = [], []
    offset = 0  # of the line in the file
    for number, raw in enumerate(fh, start=1):
        if number > 1 and (number - 1) % size == 0:
            yield records, rejects
            records, rejects = [], []
        offset += len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = offset - len(raw) + exc.start
            reason = f"byte offset {where} is not UTF-8 (invalid UTF-8 text); re-encode the file as UTF-8"
            rejects.append(reject(str(p), number, "<line>", reason, repr(raw[:200])))
            continue
        if number == 1:
            text = text.removeprefix("\ufeff")
        text = text.strip()
        if not text:
            continue
        literal = python_literals or text.startswith("{'")
        kind = "Python literal" if literal else "JSON"
        try:
            value = ast.literal_eval(text) if literal else _decode_json(text, decoder)
        except RecursionError:
            rejects.append(reject(str(p), number, "<line>", f"{kind} nested too deeply to read", text))
            continue
        except (ValueError, SyntaxError, MemoryError) as exc:
            msg = getattr(exc, "msg", None) or str(exc).split("\n")[0]
            syntax = literal or isinstance(exc, json.JSONDecodeError | _Constant)
            reason = f"not valid {kind} ({msg})" if syntax else f"unreadable JSON value ({msg})"
            rejects.append(reject(str(p), number, "<line>", reason, text))
            continue
        if not isinstance(value, dict):
            reason = f"is a {kind} {type(value).__name__}, not an object: expected an object per line"
            rejects.append(reject(str(p), number, "<line>", reason, text))
            continue
        records.append(Record(value, str(p), number))
    yield records, rejects


def _parquet_parts(p: Path, size: int) -> Iterator[Part]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{p}: not a readable Parquet file ({exc})") from None
    binary = [f.name for f in reader.schema_arrow if _holds_binary(f.type)]
    if binary:
        raise DataError(
            f"{p}: column(s) {', '.join(binary)} hold binary data (bytes), not text; "
            f"decode them to strings (or drop them) before using the file"
        )
    line = 1
    for batch in reader.iter_batches(batch_size=size):
        rows = batch.to_pylist()
        yield [Record(r, str(p), i) for i, r in enumerate(rows, start=line)], []
        line += len(rows)


def _holds_binary(t: Any) -> bool:
    """A pyarrow type that is or contains bytes (lists, structs and maps are looked into)."""
    import pyarrow as pa

    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return True
    return any(_holds_binary(t.field(i).type) for i in range(t.num_fields))


def _decode_cell(value: str) -> Any:
    if value[:1] in "[{":
        with contextlib.suppress(ValueError, RecursionError):  # text that only looks like JSON stays text
            return STRICT_JSON.decode(value)
    return value


def _read_csv(p: Path, data: bytes) -> Part:
    """CSV rows (one cell may be as large as the file); an unclosed quote is an error, not one row."""
    records, rejects = [], []
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(_decode(p, data), newline=""), strict=True)
    line = 1
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if None in row:
                rejects.append(reject(str(p), start, "<line>", "more cells than header columns", row[None]))
                continue
            missing = [k for k, v in row.items() if v is None]
            if missing:
                rejects.append(reject(str(p), start, missing[0], "fewer cells than header columns", row))
                continue
            records.append(Record({k: _decode_cell(v) for k, v in row.items()}, str(p), start))
    except csv.Error as exc:
        raise DataError(
            f'{p}:{line + 1}: not valid CSV ({exc}); a quote (") opened in this row is not closed '
            f'where expected: close it, or double quotes inside a quoted cell ("")'
        ) from None
    return records, rejects


def _dataset_parts(name: str, split: str | None, config: str | None, hub: bool, size: int) -> Iterator[Part]:
    """A `datasets` folder (save_to_disk) or a Hub id, `size` rows at a time from its memory-mapped
    Arrow files; every split, in order, unless `split` names one."""
    import datasets

    try:
        ds = datasets.load_dataset(name, config, split=split) if hub else datasets.load_from_disk(name)
    except Exception as exc:  # offline, unknown id, gated, not a `datasets` folder ...
        if hub:
            raise DataError(f"{name}: could not load from the Hugging Face Hub ({exc})") from None
        raise DataError(f"{name}: not a `datasets` folder saved with save_to_disk ({exc})") from None
    if split is not None and isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"{name}: no split {split!r}; it has {sorted(ds.keys())}")
        ds = ds[split]
    named = (
        [(f"{name}[{k}]", v) for k, v in ds.items()] if isinstance(ds, datasets.DatasetDict) else [(name, ds)]
    )
    for where, rows in named:
        for lo in range(0, len(rows), size):
            columns = rows[lo : lo + size]  # {column: values}
            part = [dict(zip(columns, values)) for values in zip(*columns.values())]
            yield [Record(r, where, i) for i, r in enumerate(part, start=lo + 1)], []


def _jsonable_cells(row: dict[str, Any], where: str) -> dict[str, Any]:
    return {
        k: strict_json(v, f"{where} field {k!r}") if isinstance(v, list | dict) else v for k, v in row.items()
    }


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows by the path's suffix: .jsonl, .json, .parquet, .csv; no suffix = `datasets` folder.
    Strict JSON (no NaN), written to a temporary file first and renamed (`atomic_path`)."""
    p = Path(path)
    name = p.name.lower()
    if not name.endswith((".jsonl", ".json", ".parquet", ".csv")) and p.suffix != "":
        raise DataError(f"{p}: unknown output type; use .jsonl, .json, .parquet, .csv or a folder name")
    if name.endswith(".jsonl"):
        write_jsonl(p, rows)
        return p
    with atomic_path(p) as tmp:
        if name.endswith(".json"):
            tmp.write_text(strict_json(rows, str(p), indent=1), encoding="utf-8")
        elif name.endswith(".parquet"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
        elif name.endswith(".csv"):
            columns = list(dict.fromkeys(k for row in rows for k in row))
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows(_jsonable_cells(r, f"{p} row {n}") for n, r in enumerate(rows, 1))
        else:
            from datasets import Dataset

            Dataset.from_list(rows).save_to_disk(str(tmp))
    return p
