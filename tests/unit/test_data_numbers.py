"""`notus.data.numbers.in_range`: the one range check behind every option, recipe key and weight."""

import math

import pytest

from notus.data.numbers import in_range, problems


@pytest.mark.parametrize(
    "value, kw, ok",
    [
        (0.5, {"low": 0, "high": 1}, True),
        (0, {"low": 0, "high": 1, "low_open": True}, False),
        (1, {"low": 0, "high": 1, "high_open": True}, False),
        (1, {"low": 0, "high": 1}, True),
        (math.nan, {"low": 0}, False),
        (math.inf, {"low": 0}, False),
        (-math.inf, {}, False),
        (True, {"low": 0}, False),  # a bool is not a number
        ("1", {"low": 0}, False),
        (None, {}, False),
        (2.0, {"low": 1, "integer": True}, True),
        (2.5, {"low": 1, "integer": True}, False),
        (0, {"low": 1, "integer": True}, False),
        (-5, {"high": 0}, True),
    ],
)
def test_in_range(value, kw, ok):
    assert (in_range("x", value, **kw) is None) == ok


def test_messages_name_the_option_value_and_range():
    assert in_range("--top-p", 7.0, 0, 1, low_open=True) == "--top-p 7.0: must be a finite number in (0, 1]"
    assert in_range("--ngram", 0, 1, integer=True) == "--ngram 0: must be an integer >= 1"
    assert problems(None, in_range("a", -1, 0), None) == ["a -1: must be a finite number >= 0"]
