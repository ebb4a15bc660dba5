"""Checks and filters: the overall_score bug, empty/truncated responses, exact and near duplicates.

    flags = score_bug_completions(completion_list)           # indices whose critique contradicts
    keep, dup_of = duplicate_prompts(prompts, near=0.8)      # exact + MinHash near-duplicates
    notus data binarize INPUT -o OUT [--near-dup 0.8 --score-bug drop --keep-bad-responses]

Rules (docs/data.md):
- overall_score bug signature: UltraFeedback's critique `overall_score` (1-10) was sometimes recorded
  as 10 where the critique meant 1. A completion is flagged when |overall_score / 2 - aspect mean|
  >= `gap` (default 2.5 on the 1-5 scale), e.g. overall 10 with aspects averaging 2.5 or less.
- empty response: no non-space text. Truncated response: an unclosed ``` code fence, or text ending
  in `,`, `:`, `(`, `[`, `{` or `-`. Such completions are removed before binarization.
- duplicates: prompts are normalised (lower case, punctuation removed, spaces collapsed); the first
  occurrence is kept. Near duplicates: word 3-gram Jaccard >= `near`, found with MinHash (32 hashes,
  8 bands of 4) and confirmed with the exact Jaccard of the 3-gram sets (`notus.data.dedup`).
"""

from __future__ import annotations

from typing import Any

from notus.data.dedup import WORD, duplicate_prompts
from notus.data.strategies import mean_rating, overall_score

__all__ = ["duplicate_prompts", "normalize", "contradicts", "response_problem", "score_bug"]
TRUNCATION_ENDINGS = tuple(",:([{-")
# every character `str.isspace` accepts (what `str.rstrip()` strips; a unit test checks the list)
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# a response whose last character (`text[-1:]`) is one of these, or that holds a backtick, may be
# empty or truncated; any other is neither (a cheap test before `response_problem`)
SUSPECT_LAST = frozenset(["", *TRUNCATION_ENDINGS, *WHITESPACE])


def normalize(text: str) -> str:
    """Lower case, punctuation removed, words separated by one space."""
    return " ".join(WORD.findall(text.lower()))


def contradicts(overall: float | None, mean: float | None, gap: float = 2.5) -> bool:
    """The bug signature: the critique score (1-10) and the aspect mean (1-5) disagree by >= gap."""
    return overall is not None and mean is not None and abs(overall / 2 - mean) >= gap


def score_bug(completion: dict[str, Any], gap: float = 2.5) -> bool:
    return contradicts(overall_score(completion), mean_rating(completion), gap)


def score_bug_completions(completions: list[dict[str, Any]], gap: float = 2.5) -> list[int]:
    return [i for i, c in enumerate(completions) if score_bug(c, gap)]


def response_problem(text: str) -> str | None:
    """ "empty response", "truncated response" or None."""
    stripped = text.rstrip()
    if not stripped:
        return "empty response"
    if stripped.count("```") % 2 == 1 or stripped.endswith(TRUNCATION_ENDINGS):
        return "truncated response"
    return None
