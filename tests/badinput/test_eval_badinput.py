"""Bad input to `notus eval` (mt-bench, alpaca, report, preference), run in process.

Every case states its outcome: exit 0 with invalid values counted as failed (never averaged) and
reported, or exit 2 with one error line naming the file and what is wrong; never a traceback, never a
changed input file, never NaN in the JSON output. Bad files are written by the cases themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _evalserve_helpers import Case, check_case, jsonl, write

from notus.core.runs import read_jsonl

JUDGMENT = {
    "question_id": 81,
    "model": "m",
    "judge": ["gpt-4", "single-v1"],
    "judgment": "[[8]]",
    "score": 8,
    "turn": 1,
}
ANNOTATION = {"instruction": "i", "output_1": "base answer", "generator_1": "base", "output_2": "answer",
              "generator_2": "m", "annotator": "judge", "preference": 2}  # fmt: skip
QUESTION = {"question_id": 81, "category": "writing", "turns": ["q1", "q2"]}
ANSWER = {"question_id": 81, "model_id": "m", "choices": [{"index": 0, "turns": ["a1", "a2"]}]}
DEEP = "[" * 200_000 + "]" * 200_000
HUGE_INT = "1" * 5000


def judgments(tmp: Path, *rows: object, raw: str = "") -> list[str]:
    """Two valid judgments (8 on turn 1, 6 on turn 2) plus the given rows (and raw text lines)."""
    good = [JUDGMENT, {**JUDGMENT, "score": 6, "turn": 2}]
    path = write(tmp / "j.jsonl", "".join(json.dumps(r) + "\n" for r in [*good, *rows]) + raw)
    return ["eval", "mt-bench", "--judgments", str(path), "--json"]


def judgment_file(tmp: Path, content: str | bytes, *extra: str) -> list[str]:
    return ["eval", "mt-bench", "--judgments", str(write(tmp / "j.jsonl", content)), "--json", *extra]


def annotations(tmp: Path, *rows: object) -> list[str]:
    path = write(tmp / "a.json", json.dumps([ANNOTATION, {**ANNOTATION, "preference": 1}, *rows]))
    return ["eval", "alpaca", "--annotations", str(path), "--json"]


def annotation_file(tmp: Path, content: str | bytes, *extra: str) -> list[str]:
    return ["eval", "alpaca", "--annotations", str(write(tmp / "a.json", content)), "--json", *extra]


def answers_run(tmp: Path, questions: list, answers: list, *extra: str) -> list[str]:
    q, a = jsonl(tmp / "question.jsonl", questions), jsonl(tmp / "answers.jsonl", answers)
    return ["eval", "mt-bench", "--questions", str(q), "--answers", str(a), *extra]


# ---- MT-Bench judgments: invalid values are failed judgments, reported with file:line ----

BAD_SCORES = {
    "score-11": (11, "score 11 is outside 1-10"),
    "score-100": (100, "score 100 is outside 1-10"),
    "score-minus-5": (-5, "score -5 is outside 1-10"),
    "score-0": (0, "score 0 is outside 1-10"),
    "score-0.5": (0.5, "score 0.5 is outside 1-10"),
    "score-10.5": (10.5, "score 10.5 is outside 1-10"),
    "score-true": (True, "score True is not a number"),
    "score-false": (False, "score False is not a number"),
    "score-string-minus-1": ("-1", "score '-1' is not a number"),
    "score-string-8": ("8", "score '8' is not a number"),
    "score-null": (None, "score None is not a number"),
    "score-list": ([8], "score [8] is not a number"),
    "score-object": ({"v": 8}, "score {'v': 8} is not a number"),
}
RAW_SCORES = {
    "score-NaN": "NaN",
    "score-Infinity": "Infinity",
    "score--Infinity": "-Infinity",
    "score-1e309": "1e309",
}
BAD_TURNS = {"turn-3": 3, "turn-0": 0, "turn-minus-1": -1, "turn-99": 99}


def invalid_judgment_cases() -> list[Case]:
    cases = [
        Case(k, lambda t, v=v: judgments(t, {**JUDGMENT, "score": v}), 0, f"j.jsonl:3: {why}")
        for k, (v, why) in BAD_SCORES.items()
    ]
    cases += [
        Case(k, lambda t, v=v: judgments(t, raw=json.dumps(JUDGMENT).replace('"score": 8', f'"score": {v}') + "\n"),
             0, "j.jsonl:3: score")
        for k, v in RAW_SCORES.items()
    ]  # fmt: skip
    cases += [
        Case(k, lambda t, v=v: judgments(t, {**JUDGMENT, "turn": v}), 0, f"j.jsonl:3: turn {v} is not 1 or 2")
        for k, v in BAD_TURNS.items()
    ]
    return cases


@pytest.mark.parametrize("case", invalid_judgment_cases(), ids=lambda c: c.id)
def test_invalid_judgments_are_failed_not_averaged(case, tmp_path, capsys):
    out, err = check_case(case, tmp_path, capsys)
    row = json.loads(out)["m"]  # strict JSON: NaN would not parse back as a number here
    assert (row["overall"], row["turn_1"], row["turn_2"]) == (7.0, 8.0, 6.0)
    assert (row["n_judgments"], row["n_failed"], row["n_invalid"]) == (3, 1, 1)
    assert "1 judgment(s) have an invalid score or turn: counted as failed" in err
    assert "NaN" not in (tmp_path / "out" / "scores.json").read_text()


VALID_JUDGMENT_CASES = [
    Case("score-minus-1-is-no-rating", lambda t: judgments(t, {**JUDGMENT, "score": -1}), 0, "1 judgment(s) gave no [[rating]]"),
    Case("score-minus-1.0-is-no-rating", lambda t: judgments(t, {**JUDGMENT, "score": -1.0}), 0, "gave no [[rating]]"),
    Case("score-1-boundary", lambda t: judgments(t, {**JUDGMENT, "score": 1}), 0, '"overall": 5.0'),
    Case("score-10-boundary", lambda t: judgments(t, {**JUDGMENT, "score": 10, "turn": 2}), 0, '"turn_2": 8.0'),
    Case("score-float-7.5", lambda t: judgments(t, {**JUDGMENT, "score": 7.5}), 0, '"turn_1": 7.75'),
    Case("question-id-string", lambda t: judgments(t, {**JUDGMENT, "question_id": "81-b"}), 0, '"n_judgments": 3'),
    Case("utf8-bom", lambda t: judgment_file(t, "\ufeff" + json.dumps(JUDGMENT) + "\n"), 0, '"overall": 8.0'),
    Case("crlf-line-ends", lambda t: judgment_file(t, json.dumps(JUDGMENT) + "\r\n\r\n"), 0, '"overall": 8.0'),
    Case("blank-lines-between", lambda t: judgment_file(t, "\n\n" + json.dumps(JUDGMENT) + "\n\n"), 0, '"n_judgments": 1'),
    Case("empty-file-allowed", lambda t: judgment_file(t, "", "--allow-empty"), 0, "{}"),
    Case("no-final-newline", lambda t: judgment_file(t, json.dumps(JUDGMENT)), 0, '"overall": 8.0'),
]  # fmt: skip


@pytest.mark.parametrize("case", VALID_JUDGMENT_CASES, ids=lambda c: c.id)
def test_valid_judgment_edge_cases_score(case, tmp_path, capsys):
    out, _ = check_case(case, tmp_path, capsys)
    assert isinstance(json.loads(out), dict)


def _fields(**changes: object) -> dict:
    row = {**JUDGMENT, **changes}
    return {k: v for k, v in row.items() if v is not DROP}


DROP = object()

JUDGMENT_ERRORS = [
    Case("missing-score", lambda t: judgments(t, _fields(score=DROP)), 2, "j.jsonl:3: field `score` is missing"),
    Case("missing-model", lambda t: judgments(t, _fields(model=DROP)), 2, "j.jsonl:3: field `model` is missing"),
    Case("missing-turn", lambda t: judgments(t, _fields(turn=DROP)), 2, "j.jsonl:3: field `turn` is missing"),
    Case("missing-question-id", lambda t: judgments(t, _fields(question_id=DROP)), 2, "field `question_id` is missing"),
    Case("model-number", lambda t: judgments(t, _fields(model=5)), 2, "j.jsonl:3: field `model` is 5"),
    Case("model-empty", lambda t: judgments(t, _fields(model="")), 2, "field `model` is ''"),
    Case("model-null", lambda t: judgments(t, _fields(model=None)), 2, "field `model` is None"),
    Case("model-list", lambda t: judgments(t, _fields(model=["m"])), 2, "field `model` is ['m']"),
    Case("question-id-bool", lambda t: judgments(t, _fields(question_id=True)), 2, "field `question_id` is True"),
    Case("question-id-float", lambda t: judgments(t, _fields(question_id=81.5)), 2, "field `question_id` is 81.5"),
    Case("question-id-list", lambda t: judgments(t, _fields(question_id=[81])), 2, "field `question_id` is [81]"),
    Case("turn-string", lambda t: judgments(t, _fields(turn="1")), 2, "field `turn` is '1', not an integer"),
    Case("turn-bool", lambda t: judgments(t, _fields(turn=True)), 2, "field `turn` is True"),
    Case("turn-float", lambda t: judgments(t, _fields(turn=1.0)), 2, "field `turn` is 1.0"),
    Case("turn-null", lambda t: judgments(t, _fields(turn=None)), 2, "field `turn` is None"),
    Case("row-list", lambda t: judgments(t, [JUDGMENT]), 2, "j.jsonl:3: is a JSON list, not an object"),
    Case("row-string", lambda t: judgments(t, "judgment"), 2, "j.jsonl:3: is a JSON str"),
    Case("row-number", lambda t: judgments(t, 8), 2, "j.jsonl:3: is a JSON int"),
    Case("row-null", lambda t: judgments(t, None), 2, "j.jsonl:3: is a JSON NoneType"),
    Case("not-json", lambda t: judgments(t, raw="score: 8\n"), 2, "j.jsonl:3: not valid JSON"),
    Case("truncated-line", lambda t: judgments(t, raw=json.dumps(JUDGMENT)[:30] + "\n"), 2, "j.jsonl:3: not valid JSON"),
    Case("two-objects-one-line", lambda t: judgments(t, raw=json.dumps(JUDGMENT) * 2 + "\n"), 2, "j.jsonl:3: not valid JSON (Extra data"),
    Case("non-utf8", lambda t: judgment_file(t, json.dumps(JUDGMENT).encode() + b"\n{\"model\": \"\xff\xfe\"}\n"), 2, "j.jsonl:2: byte offset"),
    Case("latin-1-file", lambda t: judgment_file(t, json.dumps({**JUDGMENT, "model": "caf\u00e9"}, ensure_ascii=False).encode("latin-1")), 2, "is not UTF-8"),
    Case("utf16-file", lambda t: judgment_file(t, json.dumps(JUDGMENT).encode("utf-16")), 2, "is not UTF-8"),
    Case("deeply-nested", lambda t: judgments(t, raw=DEEP + "\n"), 2, "j.jsonl:3: JSON nested too deeply"),
    Case("5000-digit-integer", lambda t: judgments(t, raw=json.dumps(JUDGMENT).replace('"score": 8', f'"score": {HUGE_INT}') + "\n"), 2, "j.jsonl:3: unreadable JSON value"),
    Case("json-array-file", lambda t: judgment_file(t, json.dumps([JUDGMENT, 5])), 2, "j.jsonl:2: item 2 is a int, expected an object"),
    Case("gzip-content", lambda t: judgment_file(t, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), 2, "a damaged gzip file"),
    Case("empty-file", lambda t: judgment_file(t, ""), 2, "no judgments; give a non-empty file (or --allow-empty)"),
    Case("only-blank-lines", lambda t: judgment_file(t, "\n \n\t\n"), 2, "no judgments"),
    Case("missing-file", lambda t: ["eval", "mt-bench", "--judgments", str(t / "nope.jsonl")], 2, "nope.jsonl: MT-Bench judgment file not found"),
    Case("directory", lambda t: ["eval", "mt-bench", "--judgments", str(t)], 2, "is a folder; give the MT-Bench judgment file itself"),
    Case("three-problems-at-once", lambda t: judgments(t, _fields(turn="1"), _fields(model=DROP), _fields(score=DROP)), 2, "3 problem(s)"),
    Case("huge-bad-value-is-cut", lambda t: judgments(t, _fields(model=["m" * 10_000])), 2, "field `model` is ['mmmm"),
    Case("many-problems-summarized", lambda t: judgments(t, *[_fields(model=None)] * 15), 2, "and 5 more"),
]  # fmt: skip


def _same_file_twice(t: Path, times: int, alias: bool = False) -> list[str]:
    path = jsonl(t / "j.jsonl", [JUDGMENT])
    other = t / "." / "j.jsonl" if alias else path
    return ["eval", "mt-bench", "--judgments", str(path), *[str(other)] * (times - 1)]


JUDGMENT_ERRORS += [
    Case("judgments-A-A-A", lambda t: _same_file_twice(t, 3), 2, "--judgments: "),
    Case("judgments-A-A", lambda t: _same_file_twice(t, 2), 2, "is given more than once"),
    Case(
        "judgments-A-via-other-path",
        lambda t: _same_file_twice(t, 2, alias=True),
        2,
        "is given more than once",
    ),
    Case(
        "judgments-and-answers",
        lambda t: [*_same_file_twice(t, 1), "--answers", str(t / "j.jsonl")],
        2,
        "exactly one of",
    ),
]


@pytest.mark.parametrize("case", JUDGMENT_ERRORS, ids=lambda c: c.id)
def test_broken_judgment_files_are_one_line_errors(case, tmp_path, capsys):
    _, err = check_case(case, tmp_path, capsys)
    assert len(err.strip().splitlines()) == 1 and len(err) < 3000  # huge bad values are cut
    assert not (tmp_path / "out" / "scores.json").exists()


# ---- MT-Bench questions, answers and options: errors before any judge is asked ----

JUDGE_ARGS = ("--judge-base-url", "http://127.0.0.1:9/v1", "--judge-max-retries", "0")  # never reached
ANSWER_ERRORS = [
    Case("question-missing-category", lambda t: answers_run(t, [{"question_id": 81, "turns": ["q"]}], [ANSWER]), 2, "question.jsonl:1: missing field(s) category"),
    Case("question-category-number", lambda t: answers_run(t, [{**QUESTION, "category": 3}], [ANSWER]), 2, "field `category` is 3"),
    Case("question-turns-string", lambda t: answers_run(t, [{**QUESTION, "turns": "q1"}], [ANSWER]), 2, "field `turns` must be a non-empty list of strings"),
    Case("question-turns-empty", lambda t: answers_run(t, [{**QUESTION, "turns": []}], [ANSWER]), 2, "field `turns` must be"),
    Case("question-turns-numbers", lambda t: answers_run(t, [{**QUESTION, "turns": [1, 2]}], [ANSWER]), 2, "field `turns` must be"),
    Case("question-id-bool", lambda t: answers_run(t, [{**QUESTION, "question_id": False}], [ANSWER]), 2, "question.jsonl:1: field `question_id` is False"),
    Case("question-row-list", lambda t: answers_run(t, [QUESTION, [QUESTION]], [ANSWER]), 2, "question.jsonl:2: is a JSON list, not an object"),
    Case("questions-empty", lambda t: answers_run(t, [], [ANSWER]), 2, "no MT-Bench question rows"),
    Case("questions-non-utf8", lambda t: ["eval", "mt-bench", "--questions", str(write(t / "q.jsonl", b"\xff\n")), "--answers", str(jsonl(t / "a.jsonl", [ANSWER]))], 2, "q.jsonl:1: byte offset 0 is not UTF-8"),
    Case("questions-deep", lambda t: ["eval", "mt-bench", "--questions", str(write(t / "q.jsonl", DEEP)), "--answers", str(jsonl(t / "a.jsonl", [ANSWER]))], 2, "nested too deeply"),
    Case("questions-missing-file", lambda t: ["eval", "mt-bench", "--questions", str(t / "none.jsonl"), "--answers", str(jsonl(t / "a.jsonl", [ANSWER]))], 2, "none.jsonl: MT-Bench question file not found"),
    Case("answer-missing-choices", lambda t: answers_run(t, [QUESTION], [{"question_id": 81, "model_id": "m"}]), 2, "answers.jsonl:1: missing field(s) choices"),
    Case("answer-choices-string", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": "a1"}]), 2, "answers.jsonl:1: field `choices` must be a list"),
    Case("answer-choices-empty", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": []}]), 2, "field `choices` must be a list"),
    Case("answer-choices-object", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": {"turns": ["a"]}}]), 2, "field `choices`"),
    Case("answer-turns-empty", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": [{"turns": []}]}]), 2, "field `choices`"),
    Case("answer-turns-numbers", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": [{"turns": [1]}]}]), 2, "field `choices`"),
    Case("answer-choice-not-object", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "choices": [["a1"]]}]), 2, "field `choices`"),
    Case("answers-A-A", lambda t: answers_run(t, [QUESTION], [ANSWER], "--answers", str(t / "answers.jsonl"), str(t / "answers.jsonl")), 2, "--answers: "),
    Case("reference-one-turn", lambda t: answers_run(t, [{**QUESTION, "category": "math"}], [ANSWER], "--reference-answers", str(jsonl(t / "ref.jsonl", [{**ANSWER, "choices": [{"turns": ["r1"]}]}]))), 2, "question 81: the reference answer has 1 turn(s)"),
    Case("reference-missing", lambda t: answers_run(t, [{**QUESTION, "category": "math"}], [ANSWER]), 2, "--reference-answers"),
    Case("unknown-question-id", lambda t: answers_run(t, [QUESTION], [ANSWER], "--question-ids", "999"), 2, "--question-ids: [999] not in the questions file"),
    Case("judge-cache-not-sqlite", lambda t: answers_run(t, [QUESTION], [ANSWER], *JUDGE_ARGS, "--judge-cache", str(write(t / "c.sqlite", "not a database " * 20))), 2, "c.sqlite: cannot be used as the request cache"),
    Case("judge-cache-is-folder", lambda t: answers_run(t, [QUESTION], [ANSWER], *JUDGE_ARGS, "--judge-cache", str(t)), 2, "cannot be used as the request cache"),
    Case("no-matching-answer", lambda t: answers_run(t, [QUESTION], [{**ANSWER, "question_id": 82}]), 2, "no answer matches the selected questions"),
]  # fmt: skip

BAD_OPTIONS = [
    ("--max-questions", "0", "0 is below 1"),
    ("--max-questions", "-1", "-1 is below 1"),
    ("--max-questions", "abc", "'abc' is not an integer"),
    ("--max-new-tokens", "0", "0 is below 1"),
    ("--judge-concurrency", "0", "0 is below 1"),
    ("--judge-max-retries", "-1", "-1 is below 0"),
    ("--judge-max-tokens", "0", "0 is below 1"),
    ("--judge-price-in", "nan", "must be a finite number >= 0"),
    ("--judge-price-out", "-1", "must be a finite number >= 0"),
    ("--judge-price-in", "inf", "must be a finite number"),
]
ANSWER_ERRORS += [
    Case(
        f"option{opt}={value}",
        lambda t, o=opt, v=value: ["eval", "mt-bench", "--judgments", "x.jsonl", o, v],
        2,
        why,
    )
    for opt, value, why in BAD_OPTIONS
]


@pytest.mark.parametrize("case", ANSWER_ERRORS, ids=lambda c: c.id)
def test_broken_questions_answers_and_options(case, tmp_path, capsys):
    check_case(case, tmp_path, capsys)


# ---- AlpacaEval annotations ----

BAD_PREFERENCES = {
    "pref-string": ("abc", "preference 'abc' is not a number"),
    "pref-numeric-string": ("2", "preference '2' is not a number"),
    "pref-true": (True, "preference True is not a number"),
    "pref-false": (False, "preference False is not a number"),
    "pref-3": (3, "preference 3 is not 1, 2, 1.5 or 0"),
    "pref-minus-1": (-1, "preference -1 is not"),
    "pref-0.5": (0.5, "preference 0.5 is not"),
    "pref-2.5": (2.5, "preference 2.5 is not"),
    "pref-list": ([2], "preference [2] is not a number"),
    "pref-object": ({"p": 2}, "preference {'p': 2} is not a number"),
}
RAW_PREFERENCES = {"pref-NaN": "NaN", "pref-Infinity": "Infinity", "pref-1e309": "1e309"}


def invalid_preference_cases() -> list[Case]:
    cases = [
        Case(k, lambda t, v=v: annotations(t, {**ANNOTATION, "preference": v}), 0, f"a.json row 2: {why}")
        for k, (v, why) in BAD_PREFERENCES.items()
    ]
    raw = json.dumps([ANNOTATION, {**ANNOTATION, "preference": 1}, {**ANNOTATION, "preference": "RAW"}])
    cases += [
        Case(k, lambda t, v=v: annotation_file(t, raw.replace('"RAW"', v)), 0, "a.json row 2: preference")
        for k, v in RAW_PREFERENCES.items()
    ]
    return cases


@pytest.mark.parametrize("case", invalid_preference_cases(), ids=lambda c: c.id)
def test_invalid_preferences_are_counted_not_scored(case, tmp_path, capsys):
    out, err = check_case(case, tmp_path, capsys)
    row = json.loads(out)["m"]
    assert (row["win_rate"], row["n_total"], row["n_invalid"], row["n_wins"], row["n_wins_base"]) == (
        50.0,
        2,
        1,
        1,
        1,
    )
    assert "1 annotation(s) have an invalid preference: counted in n_invalid" in err


VALID_PREFERENCES = [
    Case("pref-legacy-draw-0", lambda t: annotations(t, {**ANNOTATION, "preference": 0}), 0, '"n_draws": 1'),
    Case("pref-draw-1.5", lambda t: annotations(t, {**ANNOTATION, "preference": 1.5}), 0, '"n_draws": 1'),
    Case("pref-continuous-1.25", lambda t: annotations(t, {**ANNOTATION, "preference": 1.25}), 0, '"n_total": 3'),
    Case("pref-null-unparsed", lambda t: annotations(t, {**ANNOTATION, "preference": None}), 0, '"n_unparsed": 1'),
    Case("all-invalid-gives-null-not-NaN", lambda t: annotation_file(t, json.dumps([{**ANNOTATION, "preference": 7}])), 0, '"win_rate": null'),
    Case("empty-list-allowed", lambda t: annotation_file(t, "[]", "--allow-empty"), 0, "{}"),
]  # fmt: skip


@pytest.mark.parametrize("case", VALID_PREFERENCES, ids=lambda c: c.id)
def test_valid_preference_edge_cases(case, tmp_path, capsys):
    out, _ = check_case(case, tmp_path, capsys)
    assert "NaN" not in out and isinstance(json.loads(out), dict)


def _drop(key: str) -> dict:
    return {k: v for k, v in ANNOTATION.items() if k != key}


ANNOTATION_ERRORS = [
    Case("missing-preference", lambda t: annotations(t, _drop("preference")), 2, "a.json row 2: missing field(s) preference"),
    Case("missing-generator-2", lambda t: annotations(t, _drop("generator_2")), 2, "row 2: missing field(s) generator_2"),
    Case("missing-output-2", lambda t: annotations(t, _drop("output_2")), 2, "missing field(s) output_2"),
    Case("output-2-number", lambda t: annotations(t, {**ANNOTATION, "output_2": 5}), 2, "row 2: field(s) output_2 must be text"),
    Case("generator-2-list", lambda t: annotations(t, {**ANNOTATION, "generator_2": ["m"]}), 2, "field(s) generator_2 must be text"),
    Case("instruction-null", lambda t: annotations(t, {**ANNOTATION, "instruction": None}), 2, "field(s) instruction must be text"),
    Case("row-list", lambda t: annotations(t, [ANNOTATION]), 2, "a.json row 2: a JSON list, not an object"),
    Case("row-string", lambda t: annotations(t, "x"), 2, "row 2: a JSON str"),
    Case("top-level-object", lambda t: annotation_file(t, json.dumps(ANNOTATION)), 2, "expected a JSON list of annotations objects, got dict"),
    Case("top-level-number", lambda t: annotation_file(t, "2"), 2, "got int"),
    Case("jsonl-not-json-list", lambda t: annotation_file(t, json.dumps(ANNOTATION) + "\n" + json.dumps(ANNOTATION)), 2, "not valid JSON (Extra data"),
    Case("truncated", lambda t: annotation_file(t, json.dumps([ANNOTATION])[:-3]), 2, "not valid JSON"),
    Case("non-utf8", lambda t: annotation_file(t, b'[{"instruction": "\xe9"}]'), 2, "a.json:1: byte offset 18 is not UTF-8"),
    Case("deeply-nested", lambda t: annotation_file(t, DEEP), 2, "JSON nested too deeply"),
    Case("5000-digit-preference", lambda t: annotation_file(t, json.dumps([ANNOTATION]).replace('"preference": 2', f'"preference": {HUGE_INT}')), 2, "unreadable JSON value"),
    Case("empty-list", lambda t: annotation_file(t, "[]"), 2, "no annotations; give a non-empty file (or --allow-empty)"),
    Case("empty-file", lambda t: annotation_file(t, ""), 2, "not valid JSON"),
    Case("missing-file", lambda t: ["eval", "alpaca", "--annotations", str(t / "none.json")], 2, "none.json: annotations file not found"),
    Case("directory", lambda t: ["eval", "alpaca", "--annotations", str(t)], 2, "is a folder"),
    Case("annotations-A-A-A", lambda t: ["eval", "alpaca", "--annotations", *[annotations(t)[3]] * 3], 2, "--annotations: "),
    Case("annotations-and-model", lambda t: [*annotations(t), "--model", "x"], 2, "give either --annotations"),
    Case("many-problems", lambda t: annotations(t, *[_drop("preference")] * 12), 2, "12 problem(s)"),
    Case("max-instances-0", lambda t: [*annotations(t), "--max-instances", "0"], 2, "0 is below 1"),
    Case("judge-concurrency-x", lambda t: [*annotations(t), "--judge-concurrency", "x"], 2, "'x' is not an integer"),
]  # fmt: skip


def _lc_files(t: Path, difficulty: str | bytes, weights: str | bytes | None = None) -> list[str]:
    args = [*annotations(t), "--instruction-difficulty", str(write(t / "difficulty.csv", difficulty))]
    return [*args, "--lc-weights", str(write(t / "weights.csv", weights))] if weights is not None else args


GOOD_DIFFICULTY = "instruction,instruction_difficulty\na,0.1\nb,0.2\nc,0.3\n"
WEIGHT_HEAD = ",np.tanh(std_delta_len),instruction_difficulty,not_gamed_baseline.astype(float)\n"
ANNOTATION_ERRORS += [
    Case("difficulty-non-utf8", lambda t: _lc_files(t, b"instruction_difficulty\n\xff\n"), 2, "difficulty.csv:2: byte offset"),
    Case("difficulty-no-column", lambda t: _lc_files(t, "a,b\n1,2\n"), 2, "with the columns 'instruction_difficulty'"),
    Case("difficulty-not-number", lambda t: _lc_files(t, "instruction_difficulty\nhard\n"), 2, "difficulty.csv:2: column 'instruction_difficulty' is 'hard'"),
    Case("difficulty-nan", lambda t: _lc_files(t, "instruction_difficulty\nnan\n"), 2, "not a finite number"),
    Case("difficulty-empty", lambda t: _lc_files(t, ""), 2, "difficulty.csv: expected a"),
    Case("weights-no-columns", lambda t: _lc_files(t, GOOD_DIFFICULTY, "a,b\n1,2\n"), 2, "weights.csv: expected a alpaca_eval GLM weights CSV"),
    Case("weights-not-number", lambda t: _lc_files(t, GOOD_DIFFICULTY, WEIGHT_HEAD + "m,x,1,1\n"), 2, "weights.csv:2: column 'np.tanh(std_delta_len)' is 'x'"),
    Case("weights-inf", lambda t: _lc_files(t, GOOD_DIFFICULTY, WEIGHT_HEAD + "m,1,inf,1\n"), 2, "not a finite number"),
    Case("weights-short-row", lambda t: _lc_files(t, GOOD_DIFFICULTY, WEIGHT_HEAD + "m,1\n"), 2, "is None, not a finite number"),
    Case("weights-nul-byte", lambda t: _lc_files(t, GOOD_DIFFICULTY, WEIGHT_HEAD + "m,1,\x00,1\n"), 2, "weights.csv"),
]  # fmt: skip


@pytest.mark.parametrize("case", ANNOTATION_ERRORS, ids=lambda c: c.id)
def test_broken_annotation_files_are_one_line_errors(case, tmp_path, capsys):
    _, err = check_case(case, tmp_path, capsys)
    assert len(err.strip().splitlines()) == 1 or err.startswith("usage:")  # argparse: usage, then the error


# ---- AlpacaEval generate + judge: bad outputs files fail before any judge call ----

OUTPUT = {"instruction": "i", "output": "o", "generator": "m"}


def alpaca_run(t: Path, outputs: object, reference: object = None, *extra: str) -> list[str]:
    files = {name: write(t / f"{name}.json", rows if isinstance(rows, str | bytes) else json.dumps(rows))
             for name, rows in (("instructions", [OUTPUT]), ("outputs", outputs), ("reference", reference or [OUTPUT]))}  # fmt: skip
    return ["eval", "alpaca", "--instructions", str(files["instructions"]), "--model-outputs", str(files["outputs"]),
            "--reference", str(files["reference"]), *extra]  # fmt: skip


ALPACA_RUN_ERRORS = [
    Case("outputs-missing-output", lambda t: alpaca_run(t, [{"instruction": "i"}]), 2, "outputs.json row 0: missing or non-text output"),
    Case("outputs-output-number", lambda t: alpaca_run(t, [{**OUTPUT, "output": 3}]), 2, "missing or non-text output"),
    Case("outputs-instruction-list", lambda t: alpaca_run(t, [{**OUTPUT, "instruction": ["i"]}]), 2, "non-text instruction"),
    Case("outputs-row-string", lambda t: alpaca_run(t, ["i"]), 2, "outputs.json row 0: missing or non-text"),
    Case("outputs-empty", lambda t: alpaca_run(t, []), 2, "outputs.json: no model outputs; give a non-empty file"),
    Case("outputs-not-aligned", lambda t: alpaca_run(t, [{**OUTPUT, "instruction": "other"}]), 2, "--model-outputs has no output for 1 instruction(s)"),
    Case("reference-non-utf8", lambda t: alpaca_run(t, [OUTPUT], b'[{"instruction": "\xff"}]'), 2, "reference.json:1: byte offset"),
    Case("reference-deep", lambda t: alpaca_run(t, [OUTPUT], DEEP), 2, "nested too deeply"),
    Case("instructions-object", lambda t: ["eval", "alpaca", "--instructions", str(write(t / "ins.json", "{}")), "--model-outputs", str(write(t / "o.json", "[]")), "--reference", str(t / "o.json")], 2, "expected a JSON list of instructions objects"),
    Case("outputs-file-is-the-output-file", lambda t: _outputs_in_output_folder(t), 2, "model_outputs.json is the input"),
]  # fmt: skip


def _outputs_in_output_folder(t: Path) -> list[str]:
    """--model-outputs OUT/model_outputs.json --output OUT would rewrite the input in place."""
    argv = alpaca_run(t, [OUTPUT])
    (t / "outputs.json").rename(t / "model_outputs.json")
    argv[argv.index("--model-outputs") + 1] = str(t / "model_outputs.json")
    return [*argv, "--output", str(t)]


def _output_is_a_file(argv: list[str], t: Path) -> list[str]:
    return [*argv, "--output", str(write(t / "results.txt", "not a folder"))]


ALPACA_RUN_ERRORS += [
    Case("mt-bench-output-is-a-file", lambda t: _output_is_a_file(judgments(t), t), 2, "results.txt: is a file, not a folder"),
    Case("alpaca-output-is-a-file", lambda t: _output_is_a_file(annotations(t), t), 2, "is a file, not a folder"),
    Case("alpaca-run-output-is-a-file", lambda t: _output_is_a_file(alpaca_run(t, [OUTPUT]), t), 2, "is a file, not a folder"),
    Case("report-output-is-a-file", lambda t: _output_is_a_file(["eval", "report"], t), 2, "is a file, not a folder"),
    Case("harness-missing-model", lambda t: ["eval", "harness", "--model", str(t / "none"), "--tasks", "arc_challenge"], 2, "is not an embedded model"),
    Case("harness-offline-data-missing", lambda t: ["eval", "harness", "--model", "org/model", "--tasks", "arc_challenge", "--offline-data", str(t / "none")], 2, "--offline-data"),
    Case("harness-limit-0", lambda t: ["eval", "harness", "--model", "x", "--limit", "0"], 2, "0 is below 1"),
    Case("harness-batch-size-0", lambda t: ["eval", "harness", "--model", "x", "--batch-size", "0"], 2, "0 is below 1"),
    Case("harness-num-fewshot-negative", lambda t: ["eval", "harness", "--model", "x", "--num-fewshot", "-1"], 2, "-1 is below 0"),
]  # fmt: skip


@pytest.mark.parametrize("case", ALPACA_RUN_ERRORS, ids=lambda c: c.id)
def test_broken_outputs_and_folders_fail_before_any_work(case, tmp_path, capsys):
    check_case(case, tmp_path, capsys)


# ---- report and preference ----

HARNESS = {"model": "mine", "results": {"arc_challenge": {"metric": "acc_norm", "value": 0.5, "shots": 25}},
           "leaderboard_average": None}  # fmt: skip


def report(t: Path, *args: str) -> list[str]:
    return ["eval", "report", *args, "--models", "zephyr-7b-beta"]


def harness_file(t: Path, content: object, raw: str | None = None) -> str:
    return str(write(t / "results.json", raw if raw is not None else json.dumps(content)))


def preference(t: Path, content: str | bytes, *extra: str) -> list[str]:
    return [
        "eval",
        "preference",
        "--model",
        "m",
        "--reference",
        "r",
        "--data",
        str(write(t / "pairs.jsonl", content)),
        *extra,
    ]


PAIR = {"prompt": "p", "chosen": "c", "rejected": "r"}
REPORT_AND_PREFERENCE_ERRORS = [
    Case("harness-not-json", lambda t: report(t, "--harness-results", harness_file(t, None, raw="{")), 2, "results.json: not valid JSON"),
    Case("harness-list", lambda t: report(t, "--harness-results", harness_file(t, [HARNESS])), 2, "no `results` object"),
    Case("harness-no-model", lambda t: report(t, "--harness-results", harness_file(t, {**HARNESS, "model": None})), 2, "field `model` is missing or not text"),
    Case("harness-value-1.5", lambda t: report(t, "--harness-results", harness_file(t, {**HARNESS, "results": {"arc": {"metric": "a", "value": 1.5}}})), 2, "results.arc.value 1.5 is not a fraction in [0, 1]"),
    Case("harness-value-string", lambda t: report(t, "--harness-results", harness_file(t, {**HARNESS, "results": {"arc": {"metric": "a", "value": "0.5"}}})), 2, "results.arc.value '0.5' is not a finite number"),
    Case("harness-value-nan", lambda t: report(t, "--harness-results", harness_file(t, None, raw=json.dumps(HARNESS).replace("0.5", "NaN"))), 2, "value nan is not a finite number"),
    Case("harness-result-not-object", lambda t: report(t, "--harness-results", harness_file(t, {**HARNESS, "results": {"arc": 0.5}})), 2, "results.arc is not an object"),
    Case("harness-average-bool", lambda t: report(t, "--harness-results", harness_file(t, {**HARNESS, "leaderboard_average": True})), 2, "leaderboard_average True is not a finite number"),
    Case("harness-non-utf8", lambda t: report(t, "--harness-results", harness_file(t, None, raw="")), 2, "not valid JSON"),
    Case("harness-deep", lambda t: report(t, "--harness-results", harness_file(t, None, raw=DEEP)), 2, "nested too deeply"),
    Case("harness-A-A", lambda t: report(t, "--harness-results", harness_file(t, HARNESS), str(t / "results.json")), 2, "--harness-results: "),
    Case("report-judgments-A-A", lambda t: report(t, "--mt-bench-judgments", str(jsonl(t / "j.jsonl", [JUDGMENT])), str(t / "j.jsonl")), 2, "--mt-bench-judgments: "),
    Case("report-judgment-missing-turn", lambda t: report(t, "--mt-bench-judgments", str(jsonl(t / "j.jsonl", [_fields(turn=DROP)]))), 2, "j.jsonl:1: field `turn` is missing"),
    Case("report-annotations-A-A", lambda t: report(t, "--alpaca-annotations", annotations(t)[3], str(t / "a.json")), 2, "--alpaca-annotations: "),
    Case("report-annotations-empty", lambda t: report(t, "--alpaca-annotations", str(write(t / "a.json", "[]"))), 2, "no annotations"),
    Case("report-published-bad-csv", lambda t: report(t, "--published", str(write(t / "pub" / "alpaca_eval_gpt4_leaderboard.csv", "model,win_rate\nx,1\n").parent)), 2, "a published leaderboard file is not in alpaca_eval's format"),
    Case("report-published-non-utf8", lambda t: report(t, "--published", str(write(t / "pub" / "cross_benchmark_table.csv", b"Model\n\xff\n").parent)), 2, "byte offset"),
    Case("pairs-missing-file", lambda t: ["eval", "preference", "--model", "m", "--reference", "r", "--data", str(t / "no.jsonl")], 2, "no.jsonl: preference pairs file not found"),
    Case("pairs-non-utf8", lambda t: preference(t, b"\xff\n"), 2, "pairs.jsonl:1: byte offset 0 is not UTF-8"),
    Case("pairs-row-list", lambda t: preference(t, json.dumps(PAIR) + "\n" + json.dumps([PAIR]) + "\n"), 2, "pairs.jsonl:2: is a JSON list, not an object"),
    Case("pairs-missing-chosen", lambda t: preference(t, json.dumps({"prompt": "p", "rejected": "r"}) + "\n"), 2, "pairs.jsonl:1: `chosen` must be"),
    Case("pairs-empty-messages", lambda t: preference(t, json.dumps({**PAIR, "chosen": []}) + "\n"), 2, "`chosen` must be a non-empty list"),
    Case("pairs-bad-message", lambda t: preference(t, json.dumps({**PAIR, "rejected": [{"role": 1, "content": "x"}]}) + "\n"), 2, "`rejected` must be"),
    Case("pairs-deep", lambda t: preference(t, DEEP + "\n"), 2, "nested too deeply"),
    Case("pairs-empty", lambda t: preference(t, ""), 2, "no preference pairs"),
    Case("beta-0", lambda t: preference(t, json.dumps(PAIR), "--beta", "0"), 2, "must be a finite number > 0"),
    Case("beta-nan", lambda t: preference(t, json.dumps(PAIR), "--beta", "nan"), 2, "must be a finite number > 0"),
    Case("beta-negative", lambda t: preference(t, json.dumps(PAIR), "--beta", "-0.1"), 2, "must be a finite number > 0"),
    Case("max-pairs-0", lambda t: preference(t, json.dumps(PAIR), "--max-pairs", "0"), 2, "0 is below 1"),
    Case("max-length-minus", lambda t: preference(t, json.dumps(PAIR), "--max-length", "-5"), 2, "-5 is below 1"),
]  # fmt: skip


@pytest.mark.parametrize("case", REPORT_AND_PREFERENCE_ERRORS, ids=lambda c: c.id)
def test_broken_report_and_preference_inputs(case, tmp_path, capsys):
    check_case(case, tmp_path, capsys)


# ---- the real files still work ----


def test_real_mt_bench_judgments_still_score(shared_data, tmp_path, capsys):
    path = shared_data / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl"
    case = Case(
        "real", lambda t: ["eval", "mt-bench", "--judgments", str(path), "--json"], 0, "1 judgment(s) gave no"
    )
    out, err = check_case(case, tmp_path, capsys)
    table = json.loads(out)
    assert table["mistral-orpo"]["n_failed"] == 1 and table["mistral-orpo"]["n_invalid"] == 0
    assert "invalid" not in err
    scores = [r["score"] for r in read_jsonl(path) if r["model"] == "mistral-orpo" and r["score"] != -1]
    assert math.isclose(table["mistral-orpo"]["overall"], sum(scores) / len(scores))


def test_real_alpaca_annotations_have_no_invalid_preference(shared_data, tmp_path, capsys):
    files = sorted(str(p) for p in (shared_data / "alpaca_eval" / "annotations").glob("*/*.json"))
    case = Case("real", lambda t: ["eval", "alpaca", "--annotations", *files, "--json"], 0, "win_rate")
    out, err = check_case(case, tmp_path, capsys)
    rows = json.loads(out)
    assert len(rows) == len(files) == 6 and all(r["n_invalid"] == 0 for r in rows.values())
    assert "invalid preference" not in err
