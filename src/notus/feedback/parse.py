"""Parse UltraFeedback judge answers; never crashes, never invents a rating.

    ratings = parse_aspect(judge_text, n_texts=4, aspect="truthfulness")   # list of 4 AspectRating
    critique = parse_critique(judge_text)                                  # feedback + score 1-10

Accepted shapes: `#### Output for Text i` blocks (and variants: `Text i:`, `**Text i**`, `<text i>`,
`Output i`, `Response i`, numbered `i.` headers), `Rating: 4`, `4/5`, `**4**`, `[4]`,
`4 (Almost there)`, `N/A`, extra blank lines and Markdown bold, `Type: 1, 3` / `None`, plain
`Rating:` lines in order when headers are missing, and JSON (a list of objects or `{"ratings": [...]}`)
from JSON mode, including JSON cut off by the token limit (its complete entries are kept). Status per text: `ok` (1-5), `na` ("N/A" is a rating), `unparsed` (with `problem`);
an unparsed text gets no rating (None) and the raw judge text is kept by the caller.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from notus.feedback.prompts import TYPED_ASPECTS

Status = Literal["ok", "na", "unparsed"]


@dataclass
class AspectRating:
    rating: str | None = None  # "1".."5", "N/A", or None when unparsed
    rationale: str = ""
    types: list[str] | None = None  # truthfulness/helpfulness only
    type_rationale: str = ""
    status: Status = "unparsed"
    problem: str = ""


@dataclass
class Critique:
    feedback: str = ""
    score: float | None = None
    status: Status = "unparsed"
    problem: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_HEADER = re.compile(
    r"^[ \t>#*_-]*(?:output\s+for\s+|rating\s+for\s+|evaluation\s+(?:of|for)\s+)?"
    r"(?:<\s*)?(?:text|response|output|answer|completion)\s*#?\s*(\d+)\s*(?:>)?[ \t*_]*[:.)\-]?[ \t*_]*",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBERED = re.compile(r"^[ \t*#]*(\d+)[.)][ \t*]*(?=\S)", re.MULTILINE)
_FIELD = re.compile(
    r"^[ \t>*_-]*(type|rating|score|rationale for rating|rationale)[ \t*_]*:[ \t*_]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_NA = re.compile(r"^\W*(n\s*/\s*a|na|not applicable)\b", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_rating(value: str) -> tuple[str | None, str]:
    """("4", "") or ("N/A", "") or (None, problem) for one rating value."""
    text = value.strip().strip("*[]()`'\"").strip()
    if not text:
        return None, "empty rating"
    if _NA.match(text):
        return "N/A", ""  # a rating (the rubric's "not applicable"), not a parse failure
    match = _NUMBER.search(text)
    if not match or match.start() > 3:
        return None, f"no number in rating {value.strip()[:60]!r}"
    number = float(match.group())
    if number != int(number) or not 1 <= number <= 5:
        return None, f"rating {match.group()} is not an integer from 1 to 5"
    return str(int(number)), ""


def parse_types(value: str, aspect: str) -> list[str]:
    valid = TYPED_ASPECTS[aspect]
    if re.search(r"\bnone\b", value, re.IGNORECASE) and not re.search(r"\d", value):
        return ["0"] if "0" in valid else []
    return [t for t in dict.fromkeys(re.findall(r"\d+", value)) if t in valid]


def _sections(text: str, n: int) -> dict[int, str] | None:
    """Split the answer into per-text sections keyed 1..n, or None when no layout is recognised."""
    for pattern in (_HEADER, _NUMBERED):
        marks = [(int(m.group(1)), m.start(), m.end()) for m in pattern.finditer(text)]
        marks = [m for m in marks if 1 <= m[0] <= n]
        if len(marks) < min(n, 2) or not any(_FIELD.search(text, m[2]) for m in marks[:1]):
            continue
        out: dict[int, str] = {}
        for k, (num, _, end) in enumerate(marks):
            stop = marks[k + 1][1] if k + 1 < len(marks) else len(text)
            out.setdefault(num, text[end:stop])  # a repeated header keeps its first block
        return out
    fields = list(_FIELD.finditer(text))
    ratings = [k for k, m in enumerate(fields) if m.group(1).lower() in ("rating", "score")]
    if len(ratings) != n:
        return None
    # no headers, but exactly one rating line per text, in order: a block starts at its Type line
    # (Type [Rationale] Rating, after the previous rating's rationale) or at the Rating line itself
    starts = [0]
    for j in range(1, n):
        k = ratings[j]
        first = k
        for back in (1, 2):
            if k - back > ratings[j - 1] and fields[k - back].group(1).lower() == "type":
                first = k - back
        starts.append(fields[first].start())
    bounds = [*starts, len(text)]
    return {j + 1: text[bounds[j] : bounds[j + 1]] for j in range(n)}


def _parse_block(block: str, aspect: str) -> AspectRating:
    fields: list[tuple[str, str]] = []
    matches = list(_FIELD.finditer(block))
    for k, m in enumerate(matches):
        stop = matches[k + 1].start() if k + 1 < len(matches) else len(block)
        rest = block[m.end() : stop].strip()
        value = (m.group(2) + ("\n" + rest if rest else "")).strip()
        fields.append((m.group(1).lower(), value))
    out = AspectRating()
    seen_rating = False
    for name, value in fields:
        if name == "type" and aspect in TYPED_ASPECTS and out.types is None:
            out.types = parse_types(value, aspect)
        elif name in ("rating", "score") and not seen_rating:
            seen_rating = True
            out.rating, out.problem = parse_rating(value)
        elif name.startswith("rationale"):
            if seen_rating and not out.rationale:
                out.rationale = value
            elif not seen_rating and not out.type_rationale:
                out.type_rationale = value
    if not seen_rating:
        out.problem = "no Rating line"
    if out.rating is None:
        out.status = "unparsed"
    else:
        out.status = "na" if out.rating == "N/A" else "ok"
        if not out.rationale and aspect not in TYPED_ASPECTS:
            out.rationale, out.type_rationale = out.type_rationale, ""
    return out


def _from_json(text: str, n: int, aspect: str) -> list[AspectRating] | None:
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip(), flags=re.IGNORECASE)
    start = min((i for i in (body.find("["), body.find("{")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(body[start:])
    except json.JSONDecodeError:  # e.g. cut off by max_new_tokens: keep the complete rating objects
        data = []
        for match in re.finditer(r"\{[^{}]*\}", body):
            try:
                item = json.loads(match.group())
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict) and "rating" in {str(k).lower() for k in item}:
                data.append(item)
        if not data:
            return None
    if isinstance(data, dict):
        data = next((v for k, v in data.items() if isinstance(v, list)), [data] if "rating" in data else None)
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        return None
    out = []
    for item in data[:n]:
        item = {str(k).lower(): v for k, v in item.items()}
        rating, problem = parse_rating(str(item.get("rating", "")))
        types = item.get("type", item.get("types"))
        parsed = AspectRating(rating=rating, rationale=str(item.get("rationale", "")), problem=problem)
        if aspect in TYPED_ASPECTS and types is not None:
            parsed.types = parse_types(json.dumps(types), aspect)
            parsed.type_rationale = str(item.get("type_rationale", ""))
        parsed.status = "unparsed" if rating is None else ("na" if rating == "N/A" else "ok")
        out.append(parsed)
    out += [AspectRating(problem="JSON answer has no entry for this text") for _ in range(n - len(out))]
    return out


def parse_aspect(text: str, n_texts: int, aspect: str) -> list[AspectRating]:
    """One AspectRating per text (always `n_texts` of them), in the order of the texts."""
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        return [AspectRating(problem="empty judge answer") for _ in range(n_texts)]
    from_json = _from_json(text, n_texts, aspect) if text.lstrip()[:1] in "[{`" else None
    if from_json is not None:
        return from_json
    sections = _sections(text, n_texts)
    if sections is None:
        if n_texts == 1:
            sections = {1: text}
        else:
            return [
                AspectRating(problem="no per-text blocks or rating lines recognised") for _ in range(n_texts)
            ]
    return [
        _parse_block(sections[i], aspect) if i in sections else AspectRating(problem=f"no block for text {i}")
        for i in range(1, n_texts + 1)
    ]


_SCORE = re.compile(
    r"(?:overall\s+score|overall\s+rating|score)\s*(?:is)?\s*[:=]?\s*\**\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*10|out\s+of\s+10)?",
    re.IGNORECASE,
)


def parse_critique(text: str) -> Critique:
    """Feedback text and the 1-10 `Overall score` (the last one stated); no score if none is valid."""
    text = (text or "").strip()
    matches = list(_SCORE.finditer(text)) or list(re.finditer(r"\b(\d+(?:\.\d+)?)\s*/\s*10\b", text))
    if not matches:
        return Critique(
            feedback=text, problem="no 'Overall score: X' found" if text else "empty judge answer"
        )
    last = matches[-1]
    feedback = (text[: last.start()] + text[last.end() :]).strip().rstrip("#*-: \n")
    score = float(last.group(1))
    if not 1 <= score <= 10:
        return Critique(feedback=feedback, problem=f"score {last.group(1)} is outside 1-10")
    return Critique(feedback=feedback, score=score, status="ok")
