"""A small harness for bad-input cases: run `notus ...` in process, and check what every case must
hold whatever its outcome (see README.md in this folder):

    result = run_case(["data", "binarize", str(bad), "-o", str(out)], capsys, inputs=[bad])
    result.expect(2, "bad.jsonl:3")              # exit code + message fragments
    result.rows()                                # rows in = out + filtered + quarantined, as numbers

`run_case` hashes the inputs before and after (they must be byte-identical), lists the files of the
case folder (an error exit must not leave new files behind) and fails on any "Traceback" in stdout
or stderr. argparse's own errors (`SystemExit(2)`) count as exit 2.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from notus.cli.main import main

SUMMARY = re.compile(r"rows in (\d+) = rows out (\d+) \+ filtered (\d+) \((.*?)\) \+ quarantined (\d+)")


@dataclass
class Case:
    """One row of a bad-input table: files to write (`{name: bytes or f(folder) -> bytes}`), the
    command (`{d}` stands for the case folder), the expected exit code and message fragments, and
    optionally the ledger expected (rows in, out, quarantined), a setup step and a final check."""

    name: str
    files: dict
    argv: str
    code: int
    fragments: tuple[str, ...] = ()
    rows: tuple[int, int, int] | None = None
    setup: Callable[[Path], object] | None = None
    check: Callable[[Path], None] | None = None
    outcome: str = ""  # refused | invalid option | error | read | quarantined | repaired | resumed

    def __post_init__(self) -> None:
        self.outcome = self.outcome or ("error" if self.code else "read")

    def command(self, folder: Path) -> list[str]:
        return [a.format(d=folder) for a in self.argv.split()]


class Table(list):
    """A list of Cases with `add(name, files, argv, code, *fragments, **options)`."""

    def add(self, name: str, files: dict, argv: str, code: int, *fragments: str, **options: object) -> None:
        self.append(Case(name, files, argv, code, tuple(fragments), **options))

    def ids(self) -> list[str]:
        assert len({c.name for c in self}) == len(self), "case names must be unique"
        return [c.name for c in self]


def snapshot(paths: list[Path]) -> dict[str, str]:
    """sha256 of every file under `paths` (files, or folders recursively); symlinks are followed."""
    out = {}
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else "<missing>"
    return out


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@dataclass
class Rows:
    rows_in: int
    rows_out: int
    filtered: int
    reasons: str
    quarantined: int


@dataclass
class Result:
    code: int
    out: str
    err: str
    created: set[str] = field(default_factory=set)

    @property
    def text(self) -> str:
        return self.out + self.err

    def expect(self, code: int, *fragments: str) -> Result:
        """The exit code, each fragment in stdout+stderr, and for an error exit no new file and a
        `notus: error:` message."""
        assert self.code == code, f"exit {self.code}, expected {code}:\n{self.text}"
        for fragment in fragments:
            assert fragment in self.text, f"{fragment!r} not in the output:\n{self.text}"
        if code == 2:
            assert "notus: error:" in self.err or "usage:" in self.err, self.err
            assert not self.created, f"an error exit left new files: {sorted(self.created)}"
        return self

    def rows(self) -> Rows:
        """The ledger line, checked to balance: rows in = rows out + filtered + quarantined."""
        found = SUMMARY.search(self.out)
        assert found, f"no 'rows in = ...' line in:\n{self.out}"
        rows_in, rows_out, filtered, reasons, quarantined = found.groups()
        rows = Rows(int(rows_in), int(rows_out), int(filtered), reasons, int(quarantined))
        assert rows.rows_in == rows.rows_out + rows.filtered + rows.quarantined, rows
        return rows


def write_files(folder: Path, files: dict) -> list[Path]:
    """Write `{relative name: bytes, or a function of the folder returning bytes}`; the paths."""
    paths = []
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(folder) if callable(content) else content)
        paths.append(path)
    return paths


def run_case(argv: list[str], capsys, inputs: list[Path], folder: Path | None = None) -> Result:
    """Run `notus argv` in process; inputs must come out byte-identical and no traceback be printed.
    `folder` (default: the first input's folder) is listed before and after for `Result.created`."""
    folder = Path(folder or Path(inputs[0]).parent)
    before, files_before = snapshot(inputs), listing(folder)
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        code = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    result = Result(code, captured.out, captured.err, listing(folder) - files_before)
    assert "Traceback" not in result.text, result.text
    assert snapshot(inputs) == before, f"an input changed:\n{result.text}"
    return result


class FakeModel:
    """The model contract (`generate(conversations, params) -> completions`) without a model:
    judge prompts get one `Rating: 4` block per text (critiques an `Overall score: 7`), other
    prompts an answer naming the prompt. Counts its requests."""

    name = "fake"

    def __init__(self) -> None:
        self.requests = 0

    def generate(self, conversations: list, params: object) -> list:
        from notus.llm.contract import Completion

        self.requests += len(conversations)
        out = []
        for conversation in conversations:
            prompt = conversation[-1]["content"]
            n = len(re.findall(r"^<text \d+>", prompt, re.MULTILINE))
            if "Overall score" in prompt:
                text = "Clear and correct.\nOverall score: 7"
            elif n:
                text = "\n".join(
                    f"#### Output for Text {i}\nRating: 4\nRationale: fine" for i in range(1, n + 1)
                )
            else:
                text = f"An answer to: {prompt[:40]}"
            out.append(Completion(text))
        return out


def fake_models(monkeypatch) -> FakeModel:
    """Every model `notus feedback` opens is one shared FakeModel (returned, to count requests)."""
    model = FakeModel()
    monkeypatch.setattr("notus.feedback.engines.open_model", lambda *args, **kwargs: model)
    return model
