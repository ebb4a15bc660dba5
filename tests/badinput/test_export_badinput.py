"""`notus export gguf` on bad input: one `notus: error:` line naming the file and the fix, exit 2, no
traceback, the input untouched and no output file left behind. All refused before any conversion."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _evalserve_helpers import digests, run_notus

CASES = {
    "missing model": (lambda d: [str(d / "nope"), "-o", str(d / "out.gguf")], ["'", "nope", "not an embedded model"]),
    "pickle-only folder": (lambda d: [str(d / "pickled"), "-o", str(d / "out.gguf")], ["pytorch_model.bin", "safetensors"]),
    "output is the input": (lambda d: [str(d / "tiny.gguf"), "-o", str(d / "tiny.gguf")], ["is the input", "another output"]),
    "output inside the input folder": (lambda d: [str(d / "tiny"), "-o", str(d / "tiny" / "x.gguf")], ["one holds the other"]),
    "output not .gguf": (lambda d: [str(d / "tiny"), "-o", str(d / "out.bin")], ["must end in .gguf", "out.gguf"]),
    "unwritable output": (lambda d: [str(d / "tiny"), "-o", str(d / "afile" / "out.gguf"), "--check-tokens", "0"], ["cannot write", "afile", "writable folder"]),
    "unknown quant": (lambda d: [str(d / "tiny"), "-o", str(d / "out.gguf"), "--quant", "q3"], ["invalid choice", "q4_k_m"]),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_export_gguf_bad_input(name, tmp_path, tiny_model_dir, capsys):
    make, fragments = CASES[name]
    shutil.copytree(tiny_model_dir, tmp_path / "tiny")
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "pickled" / "pytorch_model.bin").write_bytes(b"not loaded")
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    (tmp_path / "afile").write_text("a file where a folder is needed")
    before = digests(tmp_path)
    code, out, err = run_notus(["export", "gguf", *make(tmp_path)], capsys)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    last = err.strip().splitlines()[-1]
    if name == "unknown quant":  # argparse: usage, then its error line
        assert last.startswith("notus export gguf: error:"), err
    else:
        assert err.startswith("notus: error:") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in last, last
    assert digests(tmp_path) == before  # nothing changed, nothing written
    assert not list(Path(tmp_path).rglob("*.gguf.*")) and not (tmp_path / "out.gguf").exists()
