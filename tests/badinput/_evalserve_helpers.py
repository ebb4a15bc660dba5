"""Shared by the eval, serve and model-loading bad-input tests: run `notus` in process and check the
outcome every case must have (exit code, message, no traceback, inputs byte-identical)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from notus.cli.main import main


@dataclass(frozen=True)
class Case:
    """One bad input: `make(tmp_path)` writes it and returns the CLI arguments; the expected outcome."""

    id: str
    make: Callable[[Path], list[str]]
    code: int  # expected exit status
    fragment: str  # expected in stderr (errors, warnings) or stdout


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def jsonl(path: Path, rows: list) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def run_notus(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """`notus ARGV` in process: (exit code, stdout, stderr); argparse usage errors exit 2 too."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def check_case(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[str, str]:
    """Run a case and assert its outcome; input files (everything under tmp_path/in) are unchanged."""
    inputs = tmp_path / "in"
    inputs.mkdir(exist_ok=True)
    argv = case.make(inputs)
    if argv[:2] in (["eval", "mt-bench"], ["eval", "alpaca"], ["eval", "report"]) and "--output" not in argv:
        argv += ["--output", str(tmp_path / "out")]
    before = digests(inputs)
    code, out, err = run_notus(argv, capsys)
    assert "Traceback" not in out + err
    assert code == case.code, (
        f"exit {code}, expected {case.code}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    )
    assert case.fragment in out + err, f"{case.fragment!r} not in:\n{out[-2000:]}\n{err[-2000:]}"
    assert digests(inputs) == before
    if case.code != 0:
        assert len(err.strip().splitlines()) >= 1 and err.startswith(("notus: error:", "usage:"))
    return out, err
