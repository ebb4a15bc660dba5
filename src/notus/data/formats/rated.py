"""Rated formats (canonical kind `rated`, the raw UltraFeedback schema): raw openbmb/UltraFeedback
rows, distilabel UltraFeedback outputs, and critique-style message rows (grouped by instruction)."""

from __future__ import annotations

import re

from notus.data.formats.base import RowError, register, score_value


def _is_raw_uf(row: dict) -> bool:
    return "instruction" in row and "completions" in row


@register("ultrafeedback", "rated", _is_raw_uf, "raw openbmb/UltraFeedback: instruction + completions[]")
def _raw_uf(row: dict) -> dict:
    if not isinstance(row.get("completions"), list):
        raise RowError(
            "completions", f"completions is a {type(row['completions']).__name__}, expected a list"
        )
    if "models" in row:
        return row  # nothing to add: the row is not copied (a missing source is repaired, and counted, later)
    models = [c.get("model", "") for c in row["completions"] if isinstance(c, dict)]
    return {**row, "models": row.get("model_names", models)}


def _is_distilabel(row: dict) -> bool:
    return "instruction" in row and "generations" in row and "ratings" in row


@register(
    "distilabel_ultrafeedback", "rated", _is_distilabel, "distilabel: instruction + generations[] + ratings[]"
)
def _distilabel(row: dict) -> dict:
    gens, ratings = row["generations"], row["ratings"]
    if not isinstance(gens, list) or not isinstance(ratings, list):
        raise RowError("generations", "generations and ratings must be lists")
    if len(ratings) != len(gens):
        raise RowError("ratings", f"{len(ratings)} ratings for {len(gens)} generations")
    models = row.get("generation_models") or row.get("model_names") or row.get("models") or [""] * len(gens)
    rationales = row.get("rationales") or [""] * len(gens)
    for name, value in (("generation_models", models), ("rationales", rationales)):
        if not isinstance(value, list):
            raise RowError(name, f"{name} is a {type(value).__name__}, expected a list")
    aspect = str(row.get("aspect") or "overall_rating").replace("-", "_")
    completions = []
    for i, text in enumerate(gens):
        rating = "N/A" if ratings[i] is None else str(ratings[i])
        why = rationales[i] if i < len(rationales) else ""
        model = models[i] if i < len(models) else ""
        annotations = {aspect: {"Rating": rating, "Rationale": why}}
        completions.append(
            {
                "model": model,
                "response": text,
                "annotations": annotations,
                "overall_score": None,
                "critique": "",
            }
        )
    return {
        "instruction": row["instruction"],
        "source": row.get("source", "distilabel"),
        "completions": completions,
    }


TAG = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.S)
    for name in ("instruction", "response", "score", "critique")
}


def _content(message: dict) -> str:
    return str(message.get("content", ""))


def _is_critique(row: dict) -> bool:
    msgs = row.get("messages")
    return (
        isinstance(msgs, list)
        and len(msgs) >= 2
        and all(isinstance(m, dict) for m in msgs)
        and any("<instruction>" in _content(m) for m in msgs)
        and any("<score>" in _content(m) for m in msgs if m.get("role") == "assistant")
    )


@register(
    "critique_messages",
    "rated",
    _is_critique,
    "messages with <instruction>/<response> in the user turn and <score>/<critique> in the assistant turn; grouped by instruction",
    group=True,
)
def _critique(row: dict) -> dict:
    msgs = row["messages"]
    user = next((_content(m) for m in msgs if m.get("role") == "user" and "<instruction>" in _content(m)), "")
    answer = next((_content(m) for m in msgs if m.get("role") == "assistant"), "")
    found = {k: TAG[k].search(user if k in ("instruction", "response") else answer) for k in TAG}
    for key in ("instruction", "response", "score"):
        if found[key] is None:
            raise RowError(f"messages.<{key}>", f"no <{key}>...</{key}> tag in the critique messages")
    score = score_value(found["score"].group(1).strip())
    if score is None:
        raise RowError("messages.<score>", f"<score>{found['score'].group(1)[:20]}</score> is not a number")
    completion = {
        "model": row.get("model", ""),
        "response": found["response"].group(1).strip("\n"),
        "annotations": {},
        "overall_score": score,
        "critique": found["critique"].group(1).strip() if found["critique"] else "",
    }
    return {
        "instruction": found["instruction"].group(1).strip("\n"),
        "source": row.get("source", "critique"),
        "completions": [completion],
    }
