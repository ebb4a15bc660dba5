"""The CLI's last line of defence (`notus.cli.main.main`): an error caused by the input or the
environment is one `notus: error:` line and exit 2; anything else is a bug, reported in one line
(exit 1) that says where to report it and how to get the traceback (NOTUS_DEBUG=1, which re-raises).
And the write helpers every data/feedback output goes through (`notus.core.runs`)."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

import pytest

from notus.cli import data as data_cli
from notus.cli.main import main
from notus.core.errors import DataError, NotusError
from notus.core.runs import atomic_write, refuse_overwrite, strict_json, write_jsonl


def _raising(exc: BaseException):
    def command(args: argparse.Namespace) -> int:
        raise exc

    return command


@pytest.mark.parametrize(
    "exc, fragments",
    [
        (PermissionError(errno.EACCES, "Permission denied", "/data/in.jsonl"), ("/data/in.jsonl", "Permission denied")),
        (OSError(errno.ENOSPC, "No space left on device", "/out/o.jsonl"), ("/out/o.jsonl", "No space left", "free disk space")),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/out"), ("/out", "Is a directory")),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), ("not valid UTF-8", "byte 0", "re-encode")),
        (RecursionError("maximum recursion depth exceeded"), ("nested too deeply",)),
        (MemoryError(), ("out of memory",)),
        (DataError("in.jsonl:3: rating 'x' is not 1-5"), ("in.jsonl:3", "not 1-5")),
    ],
    ids=["permission", "disk full", "is a directory", "non-UTF-8", "recursion", "memory", "DataError"],
)  # fmt: skip
def test_input_and_environment_errors_are_one_line_exit_2(exc, fragments, monkeypatch, capsys):
    monkeypatch.setattr(data_cli, "_inspect", _raising(exc))
    monkeypatch.delenv("NOTUS_DEBUG", raising=False)
    assert main(["data", "inspect", "x.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("notus: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err


def test_a_bug_is_one_line_exit_1_saying_how_to_get_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr(data_cli, "_inspect", _raising(ZeroDivisionError("division by zero")))
    monkeypatch.delenv("NOTUS_DEBUG", raising=False)
    assert main(["data", "inspect", "x.jsonl"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for fragment in ("internal error", "ZeroDivisionError", "bug in notus", "issue tracker", "NOTUS_DEBUG=1"):
        assert fragment in err


@pytest.mark.parametrize("exc", [ZeroDivisionError("x"), PermissionError(errno.EACCES, "denied")])
def test_notus_debug_re_raises_with_the_traceback(exc, monkeypatch):
    monkeypatch.setattr(data_cli, "_inspect", _raising(exc))
    monkeypatch.setenv("NOTUS_DEBUG", "1")
    with pytest.raises(type(exc)):
        main(["data", "inspect", "x.jsonl"])


def test_interrupt_exits_130(monkeypatch, capsys):
    monkeypatch.setattr(data_cli, "_inspect", _raising(KeyboardInterrupt()))
    assert main(["data", "inspect", "x.jsonl"]) == 130
    assert "interrupted" in capsys.readouterr().err


# ---------------------------------------------------------------- notus.core.runs write helpers


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary file left


def test_a_full_disk_is_one_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(NotusError, match="cannot write .*out.jsonl: No space left on device"):
        write_jsonl(target, [{"a": 1}])
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "sub" / "out.jsonl"
    write_jsonl(target, [{"a": 1}, {"b": [2]}])
    assert target.read_text() == '{"a": 1}\n{"b": [2]}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]


def test_atomic_write_refuses_an_existing_folder_and_names_unwritable_paths(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "mine.txt").write_text("x")
    with pytest.raises(NotusError, match="existing folder"), atomic_write(tmp_path / "folder"):
        pass
    (tmp_path / "afile").write_text("x")
    with (
        pytest.raises(NotusError, match="cannot write .*afile/o.jsonl"),
        atomic_write(tmp_path / "afile" / "o.jsonl"),
    ):
        pass


def test_strict_json_refuses_nan_and_names_where():
    assert strict_json({"a": 1.5}, "x") == '{"a": 1.5}'
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(DataError, match="out.jsonl row 3"):
            strict_json({"score": bad}, "out.jsonl row 3")


def test_refuse_overwrite_sees_paths_links_and_folders(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text("{}\n")
    os.link(data, tmp_path / "hard.jsonl")
    (tmp_path / "soft.jsonl").symlink_to(data)
    for out in (
        data,
        tmp_path / "x" / ".." / "in.jsonl",
        tmp_path / "hard.jsonl",
        tmp_path / "soft.jsonl",
        tmp_path,
    ):
        with pytest.raises(NotusError, match="never overwrites"):
            refuse_overwrite([data], {"-o": out})
    refuse_overwrite([data], {"-o": tmp_path / "out.jsonl", "rejects": tmp_path / "out.rejects.jsonl"})
    refuse_overwrite([data, None], {"-o": None})


def test_refuse_overwrite_lists_every_clash(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with pytest.raises(NotusError) as info:
        refuse_overwrite([a, b], {"-o": a, "--rejects": b})
    assert "-o" in str(info.value) and "--rejects" in str(info.value)


def test_data_paths_are_resolved_before_comparing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text("{}\n")
    with pytest.raises(NotusError, match="never overwrites"):
        refuse_overwrite(["in.jsonl"], {"-o": str(tmp_path / "in.jsonl")})
