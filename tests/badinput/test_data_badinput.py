"""Bad inputs for `notus data ...` (inspect, binarize, convert, curate, decontaminate, report), run in
process: each case has an expected exit code and message fragments (file, line, field), inputs
stay byte-identical, an error leaves no new file, no traceback is printed, and where rows are
written rows in = rows out + filtered + quarantined (with the expected numbers). Every bad file is
made here from code; see README.md for the counts per outcome."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import Case, Table, run_case, write_files

# ---------------------------------------------------------------- row and file builders

PROMPTS = [
    "Explain how photosynthesis turns light into chemical energy.",
    "Write a haiku about the first snow of winter in the mountains.",
    "What is the capital city of Australia and why was it chosen?",
    "Give three tips for learning a new programming language quickly.",
    "Summarise the plot of Romeo and Juliet in two sentences.",
]
ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")


def completion(response: str, rating: object, overall: object) -> dict:
    return {"model": "m", "response": response, "critique": "c", "overall_score": overall,
            "annotations": {a: {"Rating": rating, "Rationale": "r"} for a in ASPECTS}}  # fmt: skip


def rated(i: int, **over: object) -> dict:
    good, weak = completion(f"A good answer {i}.", "5", 8.0), completion(f"A weak answer {i}.", "2", 3.0)
    return {
        "source": "test",
        "instruction": PROMPTS[i],
        "models": ["a", "b"],
        "completions": [good, weak],
        **over,
    }


def pair(i: int, **over: object) -> dict:
    return {"prompt": PROMPTS[i], "chosen": f"Helpful reply {i}.", "rejected": f"Unhelpful {i}.", **over}


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def rated3(bad: dict | None = None) -> bytes:
    """Three rated rows; the middle one gets the fields of `bad`."""
    return jsonl([rated(i, **(bad or {})) if i == 1 else rated(i) for i in range(3)])


def bad_completion(**fields: object) -> bytes:
    """Three rated rows; the first completion of the middle row gets `fields`."""
    rows = [rated(i) for i in range(3)]
    rows[1]["completions"][0].update(fields)
    return jsonl(rows)


def pairs3(bad: dict | None = None) -> bytes:
    return jsonl([pair(i, **(bad or {})) if i == 1 else pair(i) for i in range(3)])


def with_line(line: bytes) -> bytes:
    """Two good rated rows around one bad line."""
    return jsonl([rated(0)]) + line + b"\n" + jsonl([rated(2)])


def csv_bytes(rows: list[list[str]], header: tuple = ("prompt", "chosen", "rejected")) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def pairs_csv(big: bool = False) -> bytes:
    rows = [[p["prompt"], p["chosen"], p["rejected"]] for p in map(pair, range(3))]
    if big:
        rows[0][1] = "long " * 60_000  # 300 kB: more than the csv module's default 128 kB cell limit
    return csv_bytes(rows)


def deep(depth: int = 200_000) -> bytes:
    return b'{"instruction": ' + b"[" * depth + b"]" * depth + b"}"


def parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def pairs_parquet(**extra: list) -> bytes:
    return parquet(
        {
            "prompt": PROMPTS[:3],
            "chosen": ["Yes.", "Sure.", "Fine."],
            "rejected": ["No.", "Nah.", "Bad."],
            **extra,
        }
    )


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def distilabel(bad: dict | None = None) -> bytes:
    rows = [
        {"instruction": PROMPTS[i], "generations": [f"g1 {i}", f"g2 {i}"], "ratings": [5, 2]}
        for i in range(3)
    ]
    rows[1].update(bad or {})
    return jsonl(rows)


def critique_rows(score: object = "7", content: object = None) -> bytes:
    rows = []
    for i in range(2):
        for j, s in enumerate(("8", "3")):
            user = f"<instruction>{PROMPTS[i]}</instruction>\n<response>answer {j} to {i}</response>"
            bad = i == 1 and j == 0
            rows.append({"messages": [{"role": "user", "content": content if bad and content is not None else user},
                                      {"role": "assistant", "content": f"<critique>ok</critique><score>{score if bad else s}</score>"}]})  # fmt: skip
    return jsonl(rows)


def recipe(**fields: object) -> Callable[[Path], bytes]:
    def build(d: Path) -> bytes:
        body = {"input": str(d / "in.jsonl"), "output": str(d / "out.jsonl"), **fields}
        return "\n".join(
            f"{k}: {json.dumps(str(v).format(d=d) if isinstance(v, str) else v)}" for k, v in body.items()
        ).encode()

    return build


TQA = csv_bytes([["Adversarial", "Misconceptions", "What is the capital city of Australia and why was it chosen?"]],
                header=("Type", "Category", "Question"))  # fmt: skip

# ---------------------------------------------------------------- the cases


CASES = Table()
case = CASES.add


NEVER = "never overwrites"
R = {"in.jsonl": rated3()}
P = {"pairs.jsonl": pairs3()}
BENCH = {"in.jsonl": rated3(), "bench/TruthfulQA.csv": TQA}

# 1. an output (or side file) that is an input: refused before any work, the input untouched
for name, files, argv in [
    ("binarize -o input", R, "binarize {d}/in.jsonl -o {d}/in.jsonl"),
    ("binarize -o input spelled differently", R, "binarize {d}/in.jsonl -o {d}/sub/../in.jsonl"),
    ("convert -o input", P, "convert {d}/pairs.jsonl -o {d}/pairs.jsonl"),
    ("binarize --rejects input", R, "binarize {d}/in.jsonl -o {d}/out.jsonl --rejects {d}/in.jsonl"),
    ("side rejects file is the input", {"x.rejects.jsonl": rated3()}, "binarize {d}/x.rejects.jsonl -o {d}/x.jsonl"),
    ("side curation file is the input", {"x.curation.json": b"[" + pairs3().replace(b"}\n{", b"},{").strip() + b"]"},
     "convert {d}/x.curation.json -o {d}/x.jsonl"),
    ("side train split is the input", {"x_train.jsonl": rated3()}, "binarize {d}/x_train.jsonl -o {d}/x.jsonl --test-size 0.5"),
    ("side test split is the input", {"x_test.jsonl": rated3()}, "binarize {d}/x_test.jsonl -o {d}/x.jsonl --test-size 0.5"),
    ("side contamination file is the input", {"x.contamination.jsonl": rated3(), "bench/TruthfulQA.csv": TQA},
     "binarize {d}/x.contamination.jsonl -o {d}/x.jsonl --against {d}/bench"),
    ("-o a benchmark file", BENCH, "binarize {d}/in.jsonl -o {d}/bench/TruthfulQA.csv --against {d}/bench"),
    ("-o the folder holding the input", R, "binarize {d}/in.jsonl -o {d}"),
    ("convert --rejects input", P, "convert {d}/pairs.jsonl -o {d}/o.jsonl --rejects {d}/pairs.jsonl"),
    ("decontaminate -o input", BENCH, "decontaminate {d}/in.jsonl --against {d}/bench -o {d}/in.jsonl"),
    ("decontaminate --clean-output input", BENCH, "decontaminate {d}/in.jsonl --against {d}/bench --clean-output {d}/in.jsonl"),
    ("decontaminate -o benchmark file", BENCH, "decontaminate {d}/in.jsonl --against {d}/bench -o {d}/bench/TruthfulQA.csv"),
    ("report -o folder holding the input", {"rep/report.json": b"[" + rated3().replace(b"}\n{", b"},{").strip() + b"]"},
     "report {d}/rep/report.json -o {d}/rep"),
    ("report --rejects input", R, "report {d}/in.jsonl -o {d}/rep --rejects {d}/in.jsonl"),
    ("curate output = input", {"in.jsonl": rated3(), "r.yaml": recipe(output="{d}/in.jsonl")}, "curate {d}/r.yaml"),
    ("curate rejects = input", {"in.jsonl": rated3(), "r.yaml": recipe(rejects="{d}/in.jsonl")}, "curate {d}/r.yaml"),
    ("curate override output = input", {"in.jsonl": rated3(), "r.yaml": recipe()}, "curate {d}/r.yaml output={d}/in.jsonl"),
]:  # fmt: skip
    case(name, files, argv, 2, NEVER, outcome="refused")


def hardlink(d: Path) -> None:
    os.link(d / "in.jsonl", d / "link.jsonl")


def symlink(d: Path) -> None:
    (d / "sym.jsonl").symlink_to(d / "in.jsonl")


case(
    "-o a hard link to the input",
    R,
    "binarize {d}/in.jsonl -o {d}/link.jsonl",
    2,
    NEVER,
    setup=hardlink,
    outcome="refused",
)
case(
    "-o a symlink to the input",
    R,
    "binarize {d}/in.jsonl -o {d}/sym.jsonl",
    2,
    NEVER,
    setup=symlink,
    outcome="refused",
)

# 2. numbers and strategies: checked before any work, all problems in one message
for command, files, base in [
    ("binarize", R, "binarize {d}/in.jsonl -o {d}/o.jsonl"),
    ("convert", P, "convert {d}/pairs.jsonl -o {d}/o.jsonl"),
    ("report", R, "report {d}/in.jsonl -o {d}/rep"),
]:
    for flag, value, fragment in [
        ("--near-dup", "5", "--near-dup 5.0"),
        ("--near-dup", "-1", "--near-dup -1.0"),
        ("--near-dup", "nan", "--near-dup nan"),
    ]:
        case(
            f"{command} {flag} {value}",
            files,
            f"{base} {flag} {value}",
            2,
            fragment,
            outcome="invalid option",
        )
for command, files, base in [
    ("binarize", R, "binarize {d}/in.jsonl -o {d}/o.jsonl"),
    ("convert", P, "convert {d}/pairs.jsonl -o {d}/o.jsonl"),
]:
    for value in ("2", "1", "-0.1", "nan", "inf"):
        case(
            f"{command} --test-size {value}",
            files,
            f"{base} --test-size {value}",
            2,
            "--test-size",
            "[0, 1)",
            outcome="invalid option",
        )
for value in ("-1", "nan", "inf"):
    case(
        f"binarize --min-margin {value}",
        R,
        f"binarize {{d}}/in.jsonl -o {{d}}/o.jsonl --min-margin {value}",
        2,
        "--min-margin",
        outcome="invalid option",
    )
for strategy, fragment in [
    ("weighted:helpfulness=nan", "weight of helpfulness nan"),
    ("weighted:helpfulness=inf", "weight of helpfulness inf"),
    ("weighted:helpfulness=-1", "weight of helpfulness -1"),
    ("weighted:helpfulness=0", "not all 0"),
    ("weighted:helpfulness=2,honesty=nan", "weight of honesty nan"),
    ("weighted:helpfulness", "ASPECT=WEIGHT"),
    ("weighted:", "finite non-negative weights"),
    ("bogus", "unknown binarization strategy 'bogus'"),
    ("aspect:", "aspect strategy needs a name"),
]:
    case(
        f"binarize --strategy {strategy}",
        R,
        f"binarize {{d}}/in.jsonl -o {{d}}/o.jsonl --strategy {strategy}",
        2,
        fragment,
        outcome="invalid option",
    )
case(
    "report --strategy weighted:honesty=nan",
    R,
    "report {d}/in.jsonl -o {d}/rep --strategy weighted:honesty=nan",
    2,
    "weight of honesty nan",
    outcome="invalid option",
)
case(
    "report --compare bogus",
    R,
    "report {d}/in.jsonl -o {d}/rep --compare bogus",
    2,
    "--compare 'bogus'",
    outcome="invalid option",
)
case("binarize three problems at once", R, "binarize {d}/in.jsonl -o {d}/o.jsonl --test-size 2 --near-dup 5 --min-margin nan",
     2, "3 invalid option(s)", "--test-size 2.0", "--near-dup 5.0", "--min-margin nan", outcome="invalid option")  # fmt: skip
case(
    "binarize --seed text (argparse)",
    R,
    "binarize {d}/in.jsonl -o {d}/o.jsonl --seed abc",
    2,
    "invalid int value",
    outcome="invalid option",
)
for value, fragment in [("0", "--ngram 0"), ("-3", "--ngram -3"), ("2.5", "invalid int value")]:
    case(
        f"decontaminate --ngram {value}",
        BENCH,
        f"decontaminate {{d}}/in.jsonl --against {{d}}/bench --ngram {value}",
        2,
        fragment,
        outcome="invalid option",
    )
for value in ("0", "-0.5", "nan", "1.5", "inf"):
    case(f"decontaminate --min-overlap {value}", BENCH, f"decontaminate {{d}}/in.jsonl --against {{d}}/bench --min-overlap {value}",
         2, f"--min-overlap {float(value)}", outcome="invalid option")  # fmt: skip
case("decontaminate two problems at once", BENCH, "decontaminate {d}/in.jsonl --against {d}/bench --ngram 0 --min-overlap nan",
     2, "2 invalid option(s)", outcome="invalid option")  # fmt: skip
for key, value, fragment in [
    ("test_size", "2", "test_size"),
    ("near_dup", "5", "near_dup"),
    ("min_margin", "nan", "min_margin"),
    ("min_margin", "-1", "min_margin -1"),
    ("strategy", "weighted:honesty=nan", "weight of honesty nan"),
]:
    case(
        f"curate {key}={value}",
        {"in.jsonl": rated3(), "r.yaml": recipe()},
        f"curate {{d}}/r.yaml {key}={value}",
        2,
        fragment,
        outcome="invalid option",
    )

# 3. files: read correctly whatever the name says, or one clear error naming file and line/offset
ARRAY = b"[" + b",".join(json.dumps(rated(i)).encode() for i in range(3)) + b"]"
for command in ("binarize", "report"):
    out = "-o {d}/o.jsonl" if command == "binarize" else "-o {d}/rep"
    for name, files in [
        ("JSON array in .jsonl", {"in.jsonl": ARRAY}),
        ("JSON lines named .json", {"in.json": rated3()}),
        ("gzip JSON lines named .jsonl", {"in.jsonl": gz(rated3())}),
        ("gzip named .jsonl.gz", {"in.jsonl.gz": gz(rated3())}),
        ("gzip JSON array named .json", {"in.json": gz(ARRAY)}),
        ("object holding a list", {"in.json": json.dumps({"data": [rated(i) for i in range(3)]}).encode()}),
        ("BOM and CRLF", {"in.jsonl": b"\xef\xbb\xbf" + rated3().replace(b"\n", b"\r\n")}),
    ]:
        src = next(iter(files))
        case(f"{command}: {name}", files, f"{command} {{d}}/{src} {out}", 0, "rows in 3", rows=(3, 3, 0))
case("one pretty-printed object in .jsonl", {"in.jsonl": json.dumps(rated(0), indent=2).encode()},
     "binarize {d}/in.jsonl -o {d}/o.jsonl", 0, rows=(1, 1, 0))  # fmt: skip
case(
    "CSV with a 300 kB cell keeps every row",
    {"pairs.csv": pairs_csv(big=True)},
    "convert {d}/pairs.csv -o {d}/o.jsonl",
    0,
    rows=(3, 3, 0),
)
case("gzip CSV", {"pairs.csv": gz(pairs_csv())}, "convert {d}/pairs.csv -o {d}/o.jsonl", 0, rows=(3, 3, 0))
case(
    "JSON lines of lists: all quarantined",
    {"in.jsonl": b"[1, 2]\n[3]\n"},
    "binarize {d}/in.jsonl -o {d}/o.jsonl",
    0,
    rows=(2, 0, 2),
    outcome="quarantined",
)
for name, line, reason in [
    ("invalid UTF-8 line", b'{"instruction": "caf\xe9"}', "invalid UTF-8"),
    ("200k-deep JSON line", deep(), "JSON nested too deeply"),
    ("NaN in a line", json.dumps(rated(1)).replace("8.0", "NaN").encode(), "NaN is not valid JSON"),
    (
        "Infinity in a line",
        json.dumps(rated(1)).replace("8.0", "Infinity").encode(),
        "Infinity is not valid JSON",
    ),
    ("truncated line", json.dumps(rated(1)).encode()[:-20], "not valid JSON"),
    ("a number line", b"42", "expected an object"),
]:
    case(f"JSONL: {name}", {"in.jsonl": with_line(line)}, "binarize {d}/in.jsonl -o {d}/o.jsonl", 0, rows=(3, 2, 1),
         check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
case("pydict: code is not run", {"in.pydict.jsonl": repr(rated(0)).encode() + b"\n__import__('os').remove('in.pydict.jsonl')\n"},
     "binarize {d}/in.pydict.jsonl -o {d}/o.jsonl", 0, rows=(2, 1, 1), outcome="quarantined")  # fmt: skip
case("pydict: 200k-deep literal", {"in.pydict.jsonl": repr(rated(0)).encode() + b"\n{'a': " + b"[" * 200_000 + b"]" * 200_000 + b"}\n"},
     "binarize {d}/in.pydict.jsonl -o {d}/o.jsonl", 0, rows=(2, 1, 1), outcome="quarantined")  # fmt: skip

for command in ("binarize", "inspect", "report"):
    out = {"binarize": "-o {d}/o.jsonl", "inspect": "", "report": "-o {d}/rep"}[command]
    for name, files, fragments in [
        ("truncated gzip", {"in.jsonl": gz(rated3())[:40]}, ("in.jsonl", "damaged gzip")),
        ("corrupt gzip stream", {"in.jsonl": gz(rated3() * 40)[:12] + b"\xff" * 64 + gz(rated3() * 40)[76:]}, ("in.jsonl", "damaged gzip")),
        ("CSV unclosed quote", {"p.csv": pairs_csv() + b'"Open quote,never,closed\nmore,rows,here\n'}, ("p.csv:5", "quote")),
        ("CSV stray quote", {"p.csv": pairs_csv() + b'"a"b,c,d\n'}, ("p.csv:5", "not valid CSV")),
        ("latin-1 JSON", {"in.json": json.dumps([rated(0)]).encode().replace(b"test", b"caf\xe9")}, ("in.json:1", "byte offset")),
        ("latin-1 CSV", {"p.csv": pairs_csv().replace(b"Helpful", b"Caf\xe9")}, ("p.csv:2", "byte offset")),
        ("200k-deep JSON file", {"in.json": deep()}, ("in.json", "nested too deeply")),
        ("NaN in a JSON file", {"in.json": json.dumps([rated(0)]).replace("8.0", "NaN").encode()}, ("in.json:1", "NaN")),
        ("broken JSON file", {"in.json": b'[{"instruction": "x",\n "completions": [}]'}, ("in.json:2", "not valid JSON")),
        ("empty file", {"in.jsonl": b""}, ("in.jsonl", "no rows")),
        ("blank lines only", {"in.jsonl": b"\n  \n\t\n"}, ("in.jsonl", "no rows")),
        ("BOM only", {"in.jsonl": b"\xef\xbb\xbf"}, ("in.jsonl", "no rows")),
        ("zip archive named .jsonl", {"in.jsonl": b"PK\x03\x04" + b"\x00" * 40}, ("in.jsonl", "zip archive")),
        ("binary file named .jsonl", {"in.jsonl": bytes(range(256)) * 4}, ("in.jsonl", "binary file")),
        ("UTF-16 JSON lines", {"in.jsonl": rated3().decode().encode("utf-16")}, ("in.jsonl", "UTF-16", "iconv")),
        ("a JSON number", {"in.json": b"5"}, ("in.json", "expected a list of objects")),
        ("a JSON string", {"in.json": b'"rows"'}, ("in.json", "expected a list of objects")),
        ("JSON null", {"in.json": b"null"}, ("in.json", "expected a list of objects")),
        ("Parquet binary column", {"in.parquet": parquet({"instruction": [b"\x00\x01", b"x"]})}, ("in.parquet", "instruction", "binary data")),
        ("Parquet nested binary", {"in.parquet": parquet({"instruction": ["a", "b"], "blob": [[b"x"], [b"y"]]})}, ("blob", "binary data")),
        ("corrupt Parquet", {"in.parquet": b"PAR1" + b"\x00junk" * 20}, ("in.parquet", "not a readable Parquet file")),
        ("missing file", {"other.txt": b"x"}, ("missing.jsonl", "no such file")),
        ("folder that is not a datasets folder", {"folder/a.txt": b"x"}, ("folder", "datasets")),
    ]:  # fmt: skip
        src = next(iter(files)) if name not in ("missing file",) else "missing.jsonl"
        src = "folder" if name.startswith("folder") else src
        case(f"{command}: {name}", files, f"{command} {{d}}/{src} {out}", 2, *fragments)

for name, files, fragments in [
    ("JSON array in .jsonl", {"in.jsonl": ARRAY}, ("rows read 3", "usable 3")),
    ("gzip JSON lines", {"in.jsonl": gz(rated3())}, ("rows read 3", "usable 3")),
    ("CSV with a 300 kB cell", {"p.csv": pairs_csv(big=True)}, ("rows read 3", "usable 3")),
    ("invalid UTF-8 line", {"in.jsonl": with_line(b'{"a": "\xff"}')}, ("quarantined 1", "in.jsonl:2")),
]:
    case(f"inspect: {name}", files, f"inspect {{d}}/{next(iter(files))}", 0, *fragments)

# 4. values: a bool or NaN is not a score, repairs are counted, rows of the wrong shape are quarantined
for name, fields, reason in [
    ("overall_score true", {"overall_score": True}, "boolean"),
    ("overall_score false", {"overall_score": False}, "boolean"),
    ("overall_score 'NaN'", {"overall_score": "NaN"}, "outside 1-10"),
    ("overall_score Infinity", {"overall_score": float("inf")}, "Infinity is not valid JSON"),
    ("overall_score NaN", {"overall_score": float("nan")}, "NaN is not valid JSON"),
    ("overall_score 11", {"overall_score": 11}, "outside 1-10"),
    ("overall_score list", {"overall_score": [7]}, "not a number"),
    ("response int", {"response": 5}, "expected text"),
    ("annotations text", {"annotations": "great"}, "expected an object"),
]:
    case(f"zephyr: {name}", {"in.jsonl": bad_completion(**fields)}, "binarize {d}/in.jsonl -o {d}/o.jsonl --strategy zephyr", 0,
         rows=(3, 2, 1), check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
for name, rating, reason in [
    ("true", True, "not 1-5"),
    ("4.5", 4.5, "outside 1-5"),
    ("'NaN'", "NaN", "outside 1-5"),
    ("[4]", [4], "not 1-5"),
    ("'6'", "6", "outside 1-5"),
    ("'-1'", "-1", "outside 1-5"),
]:
    rows = [rated(i) for i in range(3)]
    rows[1]["completions"][0]["annotations"]["honesty"]["Rating"] = rating
    case(f"notus: rating {name}", {"in.jsonl": jsonl(rows)}, "binarize {d}/in.jsonl -o {d}/o.jsonl", 0, rows=(3, 2, 1),
         check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
for name, bad, reason in [
    ("instruction list", {"instruction": ["x"]}, "instruction"),
    ("completions object", {"completions": {"a": 1}}, "completions"),
    ("completion a string", {"completions": ["text", "more"]}, "expected an object"),
    ("id reused for another instruction", {"id": "same"}, "already used"),
]:
    rows = [
        rated(i, **bad)
        if i == 1
        else rated(i, **({"id": "same"} if name.startswith("id") and i == 0 else {}))
        for i in range(3)
    ]
    case(f"rated row: {name}", {"in.jsonl": jsonl(rows)}, "binarize {d}/in.jsonl -o {d}/o.jsonl", 0, rows=(3, 2, 1),
         check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
for name, data, fragment in [
    ("rating ' 4 '", bad_completion(annotations={a: {"Rating": " 4 "} for a in ASPECTS}), "rating written as number/padded text -> '1'..'5' x4"),
    ("rating 4 (a number)", bad_completion(annotations={a: {"Rating": 4} for a in ASPECTS}), "padded text -> '1'..'5' x4"),
    ("missing source", jsonl([{k: v for k, v in rated(i).items() if k != "source"} if i == 1 else rated(i) for i in range(3)]), "missing source -> '' x1"),
    ("null source", rated3({"source": None}), "missing source -> '' x1"),
    ("overall_score '8.5'", bad_completion(overall_score="8.5"), "overall_score written as text -> number x1"),
]:  # fmt: skip
    case(f"repaired and counted: {name}", {"in.jsonl": data}, "binarize {d}/in.jsonl -o {d}/o.jsonl --strategy zephyr", 0,
         "repaired:", fragment, rows=(3, 3, 0), outcome="repaired")  # fmt: skip
for name, bad, reason in [
    ("generations text", {"generations": "g"}, "must be lists"),
    ("ratings object", {"ratings": {"a": 5}}, "must be lists"),
    ("ratings count", {"ratings": [5]}, "1 ratings for 2 generations"),
    ("generation_models text", {"generation_models": "model-a"}, "generation_models is a str"),
    ("rationales number", {"rationales": 3}, "rationales is a int"),
    ("rating text", {"ratings": ["abc", 2]}, "not 1-5"),
    ("rating true", {"ratings": [True, 2]}, "not 1-5"),
    ("generation number", {"generations": [5, "g"]}, "expected text"),
]:
    case(f"distilabel: {name}", {"in.jsonl": distilabel(bad)}, "binarize {d}/in.jsonl -o {d}/o.jsonl", 0, rows=(3, 2, 1),
         check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
for name, kw, reason in [
    ("score text", {"score": "abc"}, "is not a number"),
    ("score NaN", {"score": "nan"}, "is not a number"),
    ("score true", {"score": "True"}, "is not a number"),
    ("user content a number", {"content": 5}, "does not match format critique_messages"),
    ("user content a list", {"content": [1, 2]}, "does not match format critique_messages"),
]:
    case(f"critique: {name}", {"in.jsonl": critique_rows(**kw)}, "binarize {d}/in.jsonl -o {d}/o.jsonl --strategy zephyr", 0,
         "quarantined 1", check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "in.jsonl", 3, reason), outcome="quarantined")  # fmt: skip
for name, bad, reason in [
    ("chosen a number", {"chosen": 5}, "chosen is a int"),
    ("chosen list of numbers", {"chosen": [1, 2]}, "expected a message object"),
    ("message without role", {"chosen": [{"content": "hi"}]}, "role None"),
    ("content a list", {"rejected": [{"role": "assistant", "content": ["x"]}]}, "not text"),
    ("rejected null", {"rejected": None}, "rejected is a NoneType"),
    ("prompt a number", {"prompt": 7}, "prompt is a int"),
]:
    case(f"pairs: {name}", {"pairs.jsonl": pairs3(bad)}, "convert {d}/pairs.jsonl -o {d}/o.jsonl", 0, rows=(3, 2, 1),
         check=lambda d, reason=reason: _rejects_say(d / "o.rejects.jsonl", "pairs.jsonl", 2, reason), outcome="quarantined")  # fmt: skip
case("pairs: score_chosen true is not a score", {"pairs.jsonl": pairs3({"score_chosen": True, "score_rejected": True})},
     "convert {d}/pairs.jsonl -o {d}/o.jsonl", 0, rows=(3, 3, 0),
     check=lambda d: _field_values(d / "o.jsonl", "score_chosen", [None, None, None]))  # fmt: skip

# 5. outputs: folders, unwritable places, strict JSON, and the report's rejects file


def file_parent(d: Path) -> None:
    (d / "afile").write_text("x")


case(
    "-o an existing folder",
    {"in.jsonl": rated3(), "outdir/keep.txt": b"mine"},
    "binarize {d}/in.jsonl -o {d}/outdir",
    2,
    "existing folder",
)
case(
    "-o a folder named like a file",
    {"in.jsonl": rated3(), "o.jsonl/keep.txt": b"mine"},
    "binarize {d}/in.jsonl -o {d}/o.jsonl",
    2,
    "existing folder",
)
case(
    "-o under a file",
    R,
    "binarize {d}/in.jsonl -o {d}/afile/o.jsonl",
    2,
    "cannot write",
    "afile",
    setup=file_parent,
)
case(
    "--rejects the same file as -o",
    R,
    "binarize {d}/in.jsonl -o {d}/o.jsonl --rejects {d}/o.jsonl",
    2,
    "both",
    outcome="refused",
)
case("decontaminate -o and --clean-output the same file", BENCH,
     "decontaminate {d}/in.jsonl --against {d}/bench -o {d}/o.jsonl --clean-output {d}/o.jsonl", 2, "both", outcome="refused")  # fmt: skip
case("-o unknown suffix", R, "binarize {d}/in.jsonl -o {d}/o.txt", 2, "unknown output type")
case(
    "decontaminate -o an existing folder",
    {**BENCH, "hits/keep.txt": b"mine"},
    "decontaminate {d}/in.jsonl --against {d}/bench -o {d}/hits",
    2,
    "existing folder",
)
case(
    "report -o an existing file",
    {"in.jsonl": rated3(), "rep": b"a file"},
    "report {d}/in.jsonl -o {d}/rep",
    2,
    "is a file",
)
case("strict JSON: NaN in a Parquet column", {"in.parquet": pairs_parquet(weight=[1.0, float("nan"), 2.0])},
     "convert {d}/in.parquet -o {d}/o.jsonl", 2, "o.jsonl row 2", "NaN")  # fmt: skip
case(
    "Parquet NaN score_chosen is no score",
    {"in.parquet": pairs_parquet(score_chosen=[1.0, float("nan"), 2.0])},
    "convert {d}/in.parquet -o {d}/o.jsonl",
    0,
    rows=(3, 3, 0),
    check=lambda d: _field_values(d / "o.jsonl", "score_chosen", [1.0, None, 2.0]),
)


def _report_rejects(d: Path) -> None:
    lines = (d / "rej.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["line"] == 2


case("report --rejects writes the quarantined rows", {"in.jsonl": bad_completion(overall_score=True)},
     "report {d}/in.jsonl -o {d}/rep --rejects {d}/rej.jsonl --strategy zephyr", 0, "quarantined rows", rows=(3, 2, 1),
     check=_report_rejects, outcome="quarantined")  # fmt: skip
case("report writes rejects in its folder by default", {"in.jsonl": bad_completion(overall_score=True)},
     "report {d}/in.jsonl -o {d}/rep --strategy zephyr", 0, "rep/rejects.jsonl", rows=(3, 2, 1),
     check=lambda d: _rejects_say(d / "rep" / "rejects.jsonl", "in.jsonl", 2, "boolean"), outcome="quarantined")  # fmt: skip

# 6. decontaminate: broken --against files name the file and what is wrong
for name, files, fragments in [
    ("--against missing", {"in.jsonl": rated3()}, ("--against", "nope", "no such file")),
    ("--against without a benchmark", {"in.jsonl": rated3(), "bench/notes.txt": b"x"}, ("no benchmark file recognised",)),
    ("mc_task.json broken", {"in.jsonl": rated3(), "bench/mc_task.json": b'[{"question": "a"},\n{'}, ("mc_task.json:2", "not valid JSON")),
    ("mc_task.json of strings", {"in.jsonl": rated3(), "bench/mc_task.json": b'["a", "b"]'}, ("mc_task.json:1", "expected an object")),
    ("TruthfulQA.csv without Question", {"in.jsonl": rated3(), "bench/TruthfulQA.csv": b"Type,Q\nx,y\n"}, ("TruthfulQA.csv", "no field 'Question'")),
    ("TruthfulQA.csv latin-1", {"in.jsonl": rated3(), "bench/TruthfulQA.csv": TQA.replace(b"capital", b"caf\xe9")}, ("TruthfulQA.csv", "UTF-8")),
    ("question.jsonl bad line", {"in.jsonl": rated3(), "bench/question.jsonl": b'{"question_id": 1, "turns": ["a"]}\n{oops\n'}, ("question.jsonl:2", "not valid JSON")),
    ("question.jsonl without turns", {"in.jsonl": rated3(), "bench/question.jsonl": b'{"question_id": 1}\n'}, ("question.jsonl", "no field 'turns'")),
    ("gsm8k without question", {"in.jsonl": rated3(), "bench/gsm8k/test.jsonl": b'{"answer": "4"}\n'}, ("test.jsonl", "no field 'question'")),
    ("ARC without id", {"in.jsonl": rated3(), "bench/ARC-Challenge.jsonl": b'{"question": {"stem": "x"}}\n'}, ("ARC-Challenge.jsonl", "no field 'id'")),
    ("ARC question a string", {"in.jsonl": rated3(), "bench/ARC-Challenge.jsonl": b'{"id": "1", "question": "x"}\n'}, ("ARC-Challenge.jsonl", "wrong shape")),
    ("hellaswag 200k deep", {"in.jsonl": rated3(), "bench/hellaswag.jsonl": deep()}, ("hellaswag.jsonl",)),
]:  # fmt: skip
    against = "{d}/nope" if name == "--against missing" else "{d}/bench"
    case(f"decontaminate {name}", files, f"decontaminate {{d}}/in.jsonl --against {against}", 2, *fragments)
    if name in ("mc_task.json broken", "TruthfulQA.csv without Question"):
        case(
            f"binarize --against: {name}",
            files,
            f"binarize {{d}}/in.jsonl -o {{d}}/o.jsonl --against {against}",
            2,
            *fragments,
        )
case("decontaminate: gzip input is read", {"in.jsonl": gz(rated3()), "bench/TruthfulQA.csv": TQA},
     "decontaminate {d}/in.jsonl --against {d}/bench -o {d}/hits.jsonl --clean-output {d}/clean.jsonl", 0,
     "1 of 3 prompts matched", "rows in 3 = rows out 2 + filtered 1")  # fmt: skip
case("decontaminate: rated rows of the wrong shape are quarantined",
     {"in.jsonl": jsonl([rated(0, instruction=["x"]), rated(1, completions="x"), rated(2)]), "bench/TruthfulQA.csv": TQA},
     "decontaminate {d}/in.jsonl --against {d}/bench", 0, "rows in 3 = rows out 0 + filtered 1 (contaminated) + quarantined 2",
     "in.jsonl:1 [instruction]", outcome="quarantined")  # fmt: skip
case("decontaminate: pair rows of the wrong shape are quarantined", {"pairs.jsonl": pairs3({"chosen": 5}), "bench/TruthfulQA.csv": TQA},
     "decontaminate {d}/pairs.jsonl --against {d}/bench", 0, "rows in 3 = rows out 1 + filtered 1 (contaminated) + quarantined 1",
     "pairs.jsonl:2 [chosen]", outcome="quarantined")  # fmt: skip
case(
    "decontaminate: missing input",
    {"bench/TruthfulQA.csv": TQA},
    "decontaminate {d}/none.jsonl --against {d}/bench",
    2,
    "none.jsonl",
    "no such file",
)
case("decontaminate: latin-1 CSV input", {"p.csv": pairs_csv().replace(b"Helpful", b"Caf\xe9"), "bench/TruthfulQA.csv": TQA},
     "decontaminate {d}/p.csv --against {d}/bench", 2, "p.csv:2", "byte offset")  # fmt: skip


# ---------------------------------------------------------------- checks used by the table


def _rejects_say(path: Path, file: str, line: int, reason: str) -> None:
    rejects = [json.loads(x) for x in path.read_text().splitlines()]
    assert any(r["file"].endswith(file) and r["line"] == line and reason in r["reason"] for r in rejects), (
        rejects
    )


def _field_values(path: Path, key: str, values: list) -> None:
    assert [json.loads(x)[key] for x in path.read_text().splitlines()] == values


@pytest.mark.parametrize("c", CASES, ids=CASES.ids())
def test_data_bad_input(c: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = write_files(tmp_path, c.files)
    if c.setup:
        c.setup(tmp_path)
    argv = ["data", *c.command(tmp_path)]
    result = run_case(argv, capsys, inputs=inputs, folder=tmp_path).expect(c.code, *c.fragments)
    if c.rows is not None:
        rows = result.rows()
        assert (rows.rows_in, rows.rows_out, rows.quarantined) == c.rows, result.out
    if c.check is not None:
        c.check(tmp_path)
