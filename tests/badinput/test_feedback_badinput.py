"""Bad inputs for `notus feedback generate|rate|report|run`, run in process with a fake model (the
harness's FakeModel stands in for every model, so no weights are needed): each case has an
expected exit code and message fragments, the inputs stay byte-identical, an error leaves no new
file and no traceback is printed. Resuming appends only to a file notus wrote itself and keeps a
complete last line that lacks its newline."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import Case, Table, fake_models, run_case, write_files

from notus.cli.main import main

PROMPTS = ["What is 2 + 2?", "Name a primary colour.", "Say hello in French."]


def prompt_rows(**over: object) -> list[dict]:
    return [{"instruction": p, "source": "t", **(over if i == 1 else {})} for i, p in enumerate(PROMPTS)]


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def generated(bad: dict | None = None, completion: dict | None = None) -> bytes:
    """Rows as `notus feedback generate` writes them; row 2 gets `bad`, its first completion `completion`."""
    rows = []
    for i, p in enumerate(PROMPTS):
        comps = [
            {"model": "m", "principle": "helpfulness", "response": f"Answer {j} to {p}"} for j in range(2)
        ]
        row = {"source": "t", "instruction": p, "models": ["m", "m"], "completions": comps}
        if i == 1:
            row.update(bad or {})
            if completion is not None:
                row["completions"][0] = completion
        rows.append(row)
    return jsonl(rows)


GOOD = jsonl(prompt_rows())
NEVER = "never overwrites"
GEN = "feedback generate {d}/p.jsonl -o {d}/g.jsonl --quiet"
RATE = "feedback rate {d}/r.jsonl -o {d}/rated.jsonl --quiet"


CASES = Table()
case = CASES.add


# 1. numbers and names, all checked before any input is read or model loaded
for flag, value, fragment in [
    ("--temperature", "-1", "--temperature -1.0"),
    ("--temperature", "nan", "--temperature nan"),
    ("--temperature", "inf", "--temperature inf"),
    ("--top-p", "7", "--top-p 7.0"),
    ("--top-p", "0", "--top-p 0.0"),
    ("--top-p", "-0.5", "--top-p -0.5"),
    ("--top-p", "nan", "--top-p nan"),
    ("--concurrency", "0", "--concurrency 0"),
    ("--concurrency", "-3", "--concurrency -3"),
    ("--limit", "-1", "--limit -1"),
    ("--limit", "0", "--limit 0"),
    ("--n", "0", "--n 0"),
    ("--max-new-tokens", "0", "--max-new-tokens 0"),
    ("--batch-prompts", "0", "--batch-prompts 0"),
    ("--workers", "0", "--workers 0"),
    ("--seed", "-1", "--seed -1"),
    ("--principles", "bogus", "'bogus' is not one of"),
    ("--n", "abc", "invalid int value"),
    ("--temperature", "warm", "invalid float value"),
]:
    case(
        f"generate {flag} {value}",
        {"p.jsonl": GOOD},
        f"{GEN} {flag} {value}",
        2,
        fragment,
        outcome="invalid option",
    )
case("generate four problems at once", {"p.jsonl": GOOD}, f"{GEN} --temperature -1 --top-p 7 --concurrency 0 --limit -1",
     2, "4 invalid option(s)", "--temperature -1.0", "--top-p 7.0", "--concurrency 0", "--limit -1", outcome="invalid option")  # fmt: skip
for flag, value, fragment in [
    ("--max-new-tokens", "0", "--max-new-tokens 0"),
    ("--critique-max-new-tokens", "-5", "--critique-max-new-tokens -5"),
    ("--concurrency", "0", "--concurrency 0"),
    ("--batch-prompts", "0", "--batch-prompts 0"),
    ("--workers", "0", "--workers 0"),
    ("--seed", "-2", "--seed -2"),
    ("--aspects", "bogus", "'bogus' is not one of"),
    ("--aspects", "none", "nothing to rate"),
]:
    case(
        f"rate {flag} {value}",
        {"r.jsonl": generated()},
        f"{RATE} {flag} {value}",
        2,
        fragment,
        outcome="invalid option",
    )


def recipe(body: str) -> dict[str, Callable[[Path], bytes] | bytes]:
    return {
        "p.jsonl": GOOD,
        "f.yaml": lambda d: f"prompts: {d}/p.jsonl\noutput_dir: {d}/run\n{body}\n".encode(),
    }


for name, body, fragment in [
    ("limit -1", "limit: -1", "limit -1"),
    ("generate.temperature -1", "generate: {temperature: -1}", "temperature -1"),
    ("generate.top_p 7", "generate: {top_p: 7}", "top_p 7"),
    ("rate.max_new_tokens 0", "rate: {max_new_tokens: 0}", "max_new_tokens 0"),
]:
    case(
        f"run recipe {name}",
        recipe(body),
        "feedback run {d}/f.yaml --quiet",
        2,
        fragment,
        outcome="invalid option",
    )

case("run: output_dir holds the recipe", {"p.jsonl": GOOD, "run/recipe.yaml": lambda d: f"prompts: {d}/p.jsonl\noutput_dir: {d}/run\n".encode()},
     "feedback run {d}/run/recipe.yaml --quiet", 2, NEVER, "recipe.yaml", outcome="refused")  # fmt: skip
case("run: output_dir holds the prompts", {"run/generated.jsonl": GOOD, "f.yaml": lambda d: f"prompts: {d}/run/generated.jsonl\noutput_dir: {d}/run\n".encode()},
     "feedback run {d}/f.yaml --quiet", 2, NEVER, "generated.jsonl", outcome="refused")  # fmt: skip

# 2. prompt files: read correctly whatever the name says, or one error naming file, line and field
GZ = gzip.compress(GOOD, mtime=0)
ARRAY = json.dumps(prompt_rows()).encode()
for name, files in [
    ("gzip JSON lines", {"p.jsonl": GZ}),
    ("JSON array in .jsonl", {"p.jsonl": ARRAY}),
    ("JSON lines named .json", {"p.json": GOOD}),
    ("BOM and CRLF", {"p.jsonl": b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n")}),
    (
        "prompt column as messages",
        {"p.jsonl": jsonl([{"prompt": [{"role": "user", "content": p}]} for p in PROMPTS])},
    ),
    ("correct_answers a list", {"p.jsonl": jsonl(prompt_rows(correct_answers=["4", "four"]))}),
    (
        "CSV with empty and JSON-list answers",
        {
            "p.csv": b'instruction,correct_answers\n"What is 2 + 2?","[""4""]"\nName a primary colour.,\n"Say hello in French.",\n'
        },
    ),
]:
    src = next(iter(files))
    case(f"generate reads {name}", files, f"feedback generate {{d}}/{src} -o {{d}}/g.jsonl --quiet", 0, "generated 3 new rows",
         check=lambda d: _rows(d / "g.jsonl", 3))  # fmt: skip
case("answers are lists of texts, never letters", {"p.csv": b'instruction,correct_answers\n"What is 2 + 2?","[""4""]"\nName a primary colour.,\n'},
     "feedback generate {d}/p.csv -o {d}/g.jsonl --quiet", 0, "generated 2 new rows",
     check=lambda d: _answers_are(d / "g.jsonl", [["4"], []]))  # fmt: skip
case(
    "generate --limit 2",
    {"p.jsonl": GOOD},
    f"{GEN} --limit 2",
    0,
    "generated 2 new rows",
    check=lambda d: _rows(d / "g.jsonl", 2),
)
for name, files, fragments in [
    ("missing prompts file", {"other.jsonl": GOOD}, ("p.jsonl", "does not exist")),
    ("empty prompts file", {"p.jsonl": b""}, ("p.jsonl", "no prompt rows")),
    ("blank lines only", {"p.jsonl": b"\n \n"}, ("p.jsonl", "no prompt rows")),
    ("invalid UTF-8 line", {"p.jsonl": GOOD + b'{"instruction": "caf\xe9"}\n'}, ("p.jsonl:4", "invalid UTF-8")),
    ("bad JSON line", {"p.jsonl": GOOD[:-10] + b"\n" + GOOD}, ("p.jsonl:3", "not valid JSON")),
    ("200k-deep JSON line", {"p.jsonl": b'{"instruction": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n"}, ("p.jsonl:1", "JSON nested too deeply")),
    ("latin-1 JSON file", {"p.json": ARRAY.replace(b"French", b"Fran\xe7ais")}, ("p.json:1", "byte offset")),
    ("200k-deep JSON file", {"p.json": b"[" * 200_000 + b"]" * 200_000}, ("p.json", "nested too deeply")),
    ("NaN in a line", {"p.jsonl": jsonl(prompt_rows(weight=1.5)).replace(b"1.5", b"NaN")}, ("p.jsonl:2", "NaN")),
    ("correct_answers a string", {"p.jsonl": jsonl(prompt_rows(correct_answers="four"))}, ("p.jsonl:2", "correct_answers", '["four"]')),
    ("correct_answers numbers", {"p.jsonl": jsonl(prompt_rows(correct_answers=[4]))}, ("p.jsonl:2", "correct_answers")),
    ("incorrect_answers an object", {"p.jsonl": jsonl(prompt_rows(incorrect_answers={"a": 1}))}, ("p.jsonl:2", "incorrect_answers")),
    ("instruction missing", {"p.jsonl": jsonl([{"source": "x"}])}, ("p.jsonl:1", "'instruction' is missing")),
    ("instruction empty", {"p.jsonl": jsonl(prompt_rows(instruction="  "))}, ("p.jsonl:2", "missing or empty")),
    ("instruction a number", {"p.jsonl": jsonl(prompt_rows(instruction=5))}, ("p.jsonl:2", "missing or empty")),
    ("messages without a user turn", {"p.jsonl": jsonl([{"prompt": [{"role": "system", "content": "x"}]}])}, ("p.jsonl:1", "'prompt'")),
    ("three bad rows at once", {"p.jsonl": jsonl([{"x": 1}, {"instruction": ""}, {"instruction": "ok", "correct_answers": "a"}])},
     ("3 bad prompt row(s)", "p.jsonl:1", "p.jsonl:2", "p.jsonl:3")),
    ("a line that is a list", {"p.jsonl": GOOD + b"[1, 2]\n"}, ("p.jsonl:4", "expected an object")),
    ("CSV unclosed quote", {"p.csv": b'instruction\n"What is 2 + 2?\nmore\n'}, ("p.csv:2", "quote")),
    ("zip archive", {"p.jsonl": b"PK\x03\x04" + b"\x00" * 30}, ("p.jsonl", "zip archive")),
    ("truncated gzip", {"p.jsonl": GZ[:30]}, ("p.jsonl", "damaged gzip")),
    ("JSON scalar", {"p.json": b"42"}, ("p.json", "expected a list of objects")),
]:  # fmt: skip
    src = "p.jsonl" if name == "missing prompts file" else next(iter(files))
    case(f"generate: {name}", files, f"feedback generate {{d}}/{src} -o {{d}}/g.jsonl --quiet", 2, *fragments)

# 3. files to rate: the column contract before the judge is loaded
for name, files, fragments in [
    ("missing input", {"other.jsonl": b"x"}, ("r.jsonl", "does not exist")),
    ("empty input", {"r.jsonl": b""}, ("r.jsonl", "no rows")),
    ("instruction missing", {"r.jsonl": generated({"instruction": None})}, ("row 2", "'instruction'")),
    ("completions missing", {"r.jsonl": generated({"completions": None})}, ("row 2", "'completions'")),
    ("completions a string", {"r.jsonl": generated({"completions": "text"})}, ("row 2", "'completions'")),
    ("completions empty", {"r.jsonl": generated({"completions": []})}, ("row 2", "'completions'")),
    ("completion without response", {"r.jsonl": generated(completion={"model": "m"})}, ("row 2", "completions[0].response")),
    ("response a number", {"r.jsonl": generated(completion={"response": 5})}, ("row 2", "completions[0].response")),
    ("completion a string", {"r.jsonl": generated(completion="text")}, ("row 2", "completions[0].response")),
    ("bad JSON line", {"r.jsonl": generated() + b"{oops\n"}, ("r.jsonl:4", "not valid JSON")),
    ("invalid UTF-8 line", {"r.jsonl": generated() + b'{"a": "\xff"}\n'}, ("r.jsonl:4", "invalid UTF-8")),
    ("latin-1 JSON file", {"r.json": b'[{"instruction": "caf\xe9"}]'}, ("r.json:1", "byte offset")),
    ("200k-deep JSON file", {"r.json": b"[" * 200_000 + b"]" * 200_000}, ("r.json", "nested too deeply")),
]:  # fmt: skip
    src = "r.jsonl" if name == "missing input" else next(iter(files))
    case(f"rate: {name}", files, f"feedback rate {{d}}/{src} -o {{d}}/rated.jsonl --quiet", 2, *fragments)
case("rate reads gzip input", {"r.jsonl": gzip.compress(generated(), mtime=0)}, RATE, 0, "rated 3 new rows",
     check=lambda d: _rows(d / "rated.jsonl", 3))  # fmt: skip
case("rate reads a JSON array in .jsonl", {"r.jsonl": b"[" + generated().strip().replace(b"\n", b",") + b"]"}, RATE, 0,
     "rated 3 new rows", check=lambda d: _rows(d / "rated.jsonl", 3))  # fmt: skip
for name, files, fragments in [
    ("missing rated file", {"x.jsonl": b"x"}, ("rated.jsonl", "does not exist")),
    ("empty rated file", {"rated.jsonl": b"\n"}, ("rated.jsonl", "no rows")),
    ("invalid UTF-8 line", {"rated.jsonl": generated() + b'{"a": "\xff"}\n'}, ("rated.jsonl:4", "invalid UTF-8")),
    ("bad JSON line", {"rated.jsonl": generated() + b"{oops\n"}, ("rated.jsonl:4", "not valid JSON")),
    ("completions not a list", {"rated.jsonl": generated({"completions": "x"})}, ("rated.jsonl:2", "completions")),
    ("judgments of the wrong shape", {"rated.jsonl": generated(), "rated.jsonl.judgments.jsonl": b'{"row": 0}\n'},
     ("rated.jsonl.judgments.jsonl:1", "kind")),
]:  # fmt: skip
    case(f"report: {name}", files, "feedback report {d}/rated.jsonl", 2, *fragments)

# 4. outputs: never an input, never a file notus did not write; resuming keeps complete rows


def _first_run(args: str, limit: int | None = 2) -> Callable[[Path], None]:
    def run(d: Path) -> None:
        argv = args.format(d=d).split() + (["--limit", str(limit)] if limit else [])
        assert main(argv) == 0

    return run


def _cut(d: Path, n: int) -> None:
    data = (d / "g.jsonl").read_bytes()
    (d / "g.jsonl").write_bytes(data[:-n])


for name, src, argv in [
    ("generate -o the prompts", "p.jsonl", "feedback generate {d}/p.jsonl -o {d}/p.jsonl --quiet"),
    ("generate -o the prompts spelled differently", "p.jsonl", "feedback generate {d}/p.jsonl -o {d}/x/../p.jsonl --quiet"),
    ("generate --cache the prompts", "p.jsonl", f"{GEN} --cache {{d}}/p.jsonl"),
    ("generate settings file is the prompts", "g.jsonl.settings.json", "feedback generate {d}/g.jsonl.settings.json -o {d}/g.jsonl --quiet"),
]:  # fmt: skip
    case(name, {src: GOOD}, argv, 2, NEVER, outcome="refused")
for name, argv in [
    ("rate -o the input", "feedback rate {d}/r.jsonl -o {d}/r.jsonl --quiet"),
    ("rate judgments file is the input", "feedback rate {d}/r.jsonl.judgments.jsonl -o {d}/r.jsonl --quiet"),
    ("rate --cache the input", f"{RATE} --cache {{d}}/r.jsonl"),
]:
    src = "r.jsonl.judgments.jsonl" if "judgments" in name else "r.jsonl"
    case(name, {src: generated()}, argv, 2, NEVER, outcome="refused")
case(
    "generate -o a folder",
    {"p.jsonl": GOOD, "out/keep.txt": b"mine"},
    "feedback generate {d}/p.jsonl -o {d}/out --quiet",
    2,
    "is a folder",
)
case(
    "generate -o under a file",
    {"p.jsonl": GOOD, "afile": b"x"},
    "feedback generate {d}/p.jsonl -o {d}/afile/g.jsonl --quiet",
    2,
    "cannot write",
)
case("generate -o a file notus did not write", {"p.jsonl": GOOD, "g.jsonl": b'{"instruction": "What is 2 + 2?"}\nno newline'},
     GEN, 2, "was not written by `notus feedback`", outcome="refused")  # fmt: skip
case("generate --workers 2 -o a file notus did not write", {"p.jsonl": GOOD, "g.jsonl": b"my notes\n"}, f"{GEN} --workers 2", 2,
     "was not written by", outcome="refused")  # fmt: skip
case(
    "rate -o a file notus did not write",
    {"r.jsonl": generated(), "rated.jsonl": b"my notes\n"},
    RATE,
    2,
    "was not written by",
    outcome="refused",
)
case("resume keeps a complete last line without newline", {"p.jsonl": GOOD}, GEN, 0, "generated 1 new rows (3 in total)",
     setup=lambda d: (_first_run(GEN)(d), _cut(d, 1)), check=lambda d: _rows(d / "g.jsonl", 3), outcome="resumed")  # fmt: skip
case("resume cuts a half-written last line of its own", {"p.jsonl": GOOD}, GEN, 0, "generated 2 new rows (3 in total)",
     setup=lambda d: (_first_run(GEN)(d), _cut(d, 15)), check=lambda d: _rows(d / "g.jsonl", 3), outcome="resumed")  # fmt: skip
case("resume with other settings is refused", {"p.jsonl": GOOD}, f"{GEN} --temperature 0.2", 2, "other settings",
     setup=_first_run(GEN), outcome="refused")  # fmt: skip
case("resume from another input is refused", {"p.jsonl": GOOD}, GEN, 2, "does not match input row 1",
     setup=lambda d: (_first_run(GEN)(d), (d / "p.jsonl").write_bytes(jsonl([{"instruction": "Something else?"}] * 3))), outcome="refused")  # fmt: skip


def _rows(path: Path, n: int) -> None:
    data = path.read_bytes()
    assert data.endswith(b"\n") and len(data.splitlines()) == n, data[-200:]
    rows = [json.loads(line) for line in data.splitlines()]
    assert [r["instruction"] for r in rows] == PROMPTS[:n]


def _answers_are(path: Path, answers: list) -> None:
    assert [json.loads(line)["correct_answers"] for line in path.read_text().splitlines()] == answers


@pytest.mark.parametrize("c", CASES, ids=CASES.ids())
def test_feedback_bad_input(c: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    model = fake_models(monkeypatch)
    inputs = write_files(tmp_path, c.files)
    if c.setup:
        c.setup(tmp_path)
    capsys.readouterr()
    requests = model.requests
    argv = c.command(tmp_path)
    run_case(argv, capsys, inputs=inputs, folder=tmp_path).expect(c.code, *c.fragments)
    if c.code:
        assert model.requests == requests, "an error case called the model"
    if c.check:
        c.check(tmp_path)
