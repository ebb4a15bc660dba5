"""Judge-answer parsing on every UltraFeedback answer shape we know, malformed ones included
(tests/fixtures/feedback/judge_answers.json): ratings are exact, failures give no rating and a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notus.feedback.parse import parse_aspect, parse_critique, parse_rating

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "feedback" / "judge_answers.json").read_text())


@pytest.mark.parametrize("case", CASES["aspects"], ids=[c["name"] for c in CASES["aspects"]])
def test_aspect_answer_shapes(case):
    parsed = parse_aspect(case["text"], case["n"], case["aspect"])
    assert len(parsed) == case["n"]
    assert [p.rating for p in parsed] == case["ratings"]
    for p in parsed:
        assert p.status == ("unparsed" if p.rating is None else "na" if p.rating == "N/A" else "ok")
        if p.rating is None:
            assert p.problem, "an unparsed rating must say why"
    if "types" in case:
        assert [p.types for p in parsed] == case["types"]


def test_rationales_are_kept_per_field():
    text = CASES["aspects"][0]["text"]
    first, second = parse_aspect(text, 2, "truthfulness")
    assert first.type_rationale == "States a wrong year and contradicts itself."
    assert first.rationale == "Severe hallucination."
    assert second.rationale == "Accurate."


@pytest.mark.parametrize("case", CASES["critiques"])
def test_critique_scores(case):
    critique = parse_critique(case["text"])
    assert critique.score == case["score"]
    assert critique.status == ("unparsed" if case["score"] is None else "ok")
    if case["score"] is not None:
        assert len(critique.feedback) < len(case["text"].strip())  # the score line is cut from the feedback


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4", "4"), (" **5** ", "5"), ("[1]", "1"), ("3/5", "3"), ("n/a", "N/A"), ("Not applicable", "N/A"),
     ("6", None), ("2.5", None), ("", None), ("good", None), ("-1", None)],
)  # fmt: skip
def test_single_rating_values(value, expected):
    assert parse_rating(value)[0] == expected
