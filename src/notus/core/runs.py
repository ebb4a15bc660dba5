"""Run folders: every job writes its resolved recipe, metrics (JSONL) and outputs in one place."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from notus.core.config import save_recipe


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
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
