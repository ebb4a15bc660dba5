"""The malformed-input corpus (tests/fixtures/data/malformed, made by make_malformed.py): every
file ends in a clear message, never a traceback, and every row is accounted for:
rows in = rows out + filtered (by reason) + quarantined, with each quarantined row in the rejects
file naming file, line, field and reason."""

import json
import re
from pathlib import Path

import pytest

from notus.cli.main import main

CORPUS = Path(__file__).parents[1] / "fixtures" / "data" / "malformed"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
SUMMARY = re.compile(r"rows in (\d+) = rows out (\d+) \+ filtered (\d+) \((.*)\) \+ quarantined (\d+)")


def test_corpus_is_large_enough():
    assert len(MANIFEST) >= 30
    assert sorted(p.name for p in CORPUS.iterdir() if p.name != "manifest.json") == sorted(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_malformed_input(name, tmp_path, capsys):
    expect = MANIFEST[name]
    command, *flags = expect["command"].split()
    out = tmp_path / "out.jsonl"
    code = main(["data", command, str(CORPUS / name), "-o", str(out), *flags])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    if "error" in expect:
        assert code == 2
        assert expect["error"] in captured.err and name in captured.err
        return
    assert code == 0, text
    rows_in, rows_out, filtered, reasons, quarantined = SUMMARY.search(captured.out).groups()
    rows_in, rows_out, filtered, quarantined = map(int, (rows_in, rows_out, filtered, quarantined))
    assert rows_in == rows_out + filtered + quarantined
    assert (rows_in, rows_out, quarantined) == (expect["rows_in"], expect["rows_out"], expect["quarantined"])
    for reason, n in expect.get("filtered", {}).items():
        assert f"{reason}: {n}" in reasons
    if "repaired" in expect:
        repaired = re.search(r"repaired: (.*)", captured.out).group(1)
        assert sum(int(n) for n in re.findall(r"x(\d+)", repaired)) == expect["repaired"]
    rejects_file = tmp_path / "out.rejects.jsonl"
    rejects = (
        [json.loads(line) for line in rejects_file.read_text().splitlines()] if rejects_file.exists() else []
    )
    assert len(rejects) == quarantined
    for rej in rejects:
        assert rej["file"].endswith(name) and rej["line"] >= 1 and rej["field"] and rej["reason"]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    if command == "binarize":
        assert len({json.dumps(p["prompt"]) for p in written}) == rows_out
    else:
        assert len(written) == rows_out
