"""Run folders: every job writes its resolved recipe, metrics (JSONL) and outputs in one place."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from notus.core.config import save_recipe
from notus.core.errors import DataError, NotusError


def new_run_dir(root: str | Path, name: str) -> Path:
    """`root/<name>-<YYYYmmdd-HHMMSS>`; a suffix keeps two runs in the same second apart."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def start_run(output_dir: str | Path, recipe: Any) -> Path:
    path = Path(output_dir)
    path.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, path / "recipe.yaml")
    return path


class JsonlWriter:
    """Append-only JSONL log, flushed per line so a killed run keeps what it wrote."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """A JSONL file this run wrote itself (metrics); data files users give go through notus.data.readers."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def strict_json(value: Any, where: str, **kwargs: Any) -> str:
    """`json.dumps` that refuses NaN and infinities (they are not JSON) with a message naming `where`."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, **kwargs)
    except ValueError as exc:
        raise DataError(
            f"{where}: {exc}; a NaN or infinite number cannot be written as JSON (fix or drop that value)"
        ) from None


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Strict JSON lines, written atomically (`atomic_write`)."""
    with atomic_write(path) as fh:
        for n, row in enumerate(rows, 1):
            fh.write(strict_json(row, f"{path} row {n}") + "\n")


def _write_error(path: Path, exc: OSError) -> NotusError:
    reason = exc.strerror or str(exc)
    return NotusError(f"cannot write {path}: {reason}; choose a writable folder with free space (-o)")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in `path`'s folder to write into; renamed onto `path` when the block ends
    without an error (so a reader never sees half a file and a failed run leaves the old file as it
    was), removed otherwise. `path` may be a file or a folder (a `datasets` folder)."""
    target = Path(path)
    if target.is_dir() and not _replaceable_folder(target):
        raise NotusError(
            f"{target} is an existing folder; give a file name (e.g. {target / 'out.jsonl'}) or a new folder"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise _write_error(target, exc) from None
    inner = tmp / target.name
    try:
        yield inner
        if target.is_dir():  # an earlier `datasets` folder output: swap it out, then remove it
            old = tmp / ".old"
            target.rename(old)
        os.replace(inner, target)
    except OSError as exc:
        raise _write_error(target, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_write(path: str | Path, binary: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path` for writing; it replaces `path` only once fully written."""
    with atomic_path(path) as tmp:
        try:
            fh = tmp.open("wb") if binary else tmp.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise _write_error(Path(path), exc) from None
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def _replaceable_folder(path: Path) -> bool:
    """A folder notus may replace: empty, or a `datasets` folder (as `notus data` writes)."""
    names = {p.name for p in path.iterdir()}
    return not names or bool(names & {"dataset_dict.json", "state.json"})


def _same_place(a: Path, b: Path) -> bool:
    """True when `a` and `b` are the same file (path or inode), or one is inside the other folder."""
    if a.exists() and b.exists() and os.path.samefile(a, b):
        return True
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or ra.is_relative_to(rb) or rb.is_relative_to(ra)


def refuse_overwrite(inputs: Iterable[str | Path | None], outputs: dict[str, str | Path | None]) -> None:
    """Raise, before any work, when an output (`{role: path}`, e.g. `{"-o": ..., "rejects": ...}`)
    is one of the inputs, holds one (a folder) or sits inside an input folder, or when two
    outputs are the same file."""
    ins = [Path(p) for p in inputs if p is not None]
    outs = [(role, Path(out)) for role, out in outputs.items() if out is not None]
    problems = [
        f"{role} {out} is the input {inp}" if out.resolve() == inp.resolve() else
        f"{role} {out} and the input {inp} are the same file or one holds the other"
        for role, out in outs
        for inp in ins
        if _same_place(out, inp)
    ]  # fmt: skip
    if problems:
        raise NotusError(
            "; ".join(problems) + "; notus never overwrites what it reads: choose another output path"
        )
    clashes = [
        f"{a} and {b} are both {pa}"
        for i, (a, pa) in enumerate(outs)
        for b, pb in outs[i + 1 :]
        if pa.resolve() == pb.resolve()
    ]
    if clashes:
        raise NotusError("; ".join(clashes) + "; give each output its own path")
