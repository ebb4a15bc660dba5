"""Preference-data formats: detect which one a file holds and map its rows to three canonical kinds.

    fmt = detect_format(records)            # or FORMATS.get("sharegpt_dpo") from --format
    rows, rejects = fmt.to_canonical(records)
    notus data inspect INPUT [--format NAME]    # the command that shows what was detected

Canonical kinds:
- `rated`: the raw openbmb/UltraFeedback schema (`instruction`, `source`, `completions[]` with
  `model`, `response`, `annotations{aspect: {Rating}}`, `overall_score`, `critique`); binarize it.
- `pairs`: TRL conversational preference rows (`prompt`, `chosen`, `rejected` message lists) plus
  provenance (`score_chosen`, `score_rejected`, `source`, models); convert it.
- `unpaired`: TRL unpaired/KTO rows (`prompt`, `completion` message lists, `label` bool).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notus.core.errors import DataError
from notus.core.registry import Registry
from notus.data.readers import Record, reject

ROLES = {"system", "user", "assistant"}
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
TRUE_LABELS, FALSE_LABELS = {True, "true", "True", "1", "yes"}, {False, "false", "False", "0", "no"}


class RowError(ValueError):
    """A row that cannot be mapped; `field` names the offending field."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class Format:
    name: str
    kind: str  # rated | pairs | unpaired
    detect: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any]], dict[str, Any]]
    describe: str
    group: bool = False  # rows hold one completion each: gather them per instruction

    def to_canonical(self, records: list[Record]) -> tuple[list[Record], list[dict[str, Any]]]:
        out, rejects = [], []
        for rec in records:
            if not self.detect(rec.row):
                keys = ", ".join(sorted(rec.row)[:12])
                why = f"row does not match format {self.name} ({self.describe}); its keys: {keys}"
                rejects.append(reject(rec.file, rec.line, "<row>", why, rec.row))
                continue
            try:
                out.append(Record(self.convert(rec.row), rec.file, rec.line))
            except RowError as exc:
                rejects.append(reject(rec.file, rec.line, exc.field, str(exc), rec.row))
        if self.group:
            out = _group_records(out)
        return out, rejects


FORMATS: Registry[Format] = Registry("data format")


def _register(
    name: str, kind: str, detect: Callable, convert: Callable, describe: str, group: bool = False
) -> None:
    FORMATS.register(name)(Format(name, kind, detect, convert, describe, group))


def messages(value: Any, field: str, default_role: str = "assistant") -> list[dict[str, str]]:
    """Text or a message list (TRL or ShareGPT keys) -> a list of {"role", "content"} messages."""
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise RowError(field, f"{field} is a {type(value).__name__}; expected text or a list of messages")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise RowError(
                f"{field}[{i}]", f"{field}[{i}] is a {type(m).__name__}; expected a message object"
            )
        role = m.get("role", m.get("from"))
        content = m.get("content", m.get("value"))
        role = SHAREGPT_ROLES.get(role, role)
        if role not in ROLES:
            raise RowError(
                f"{field}[{i}].role", f"{field}[{i}] has role {role!r}; expected one of {sorted(ROLES)}"
            )
        if not isinstance(content, str):
            raise RowError(
                f"{field}[{i}].content", f"{field}[{i}].content is {type(content).__name__}, not text"
            )
        out.append({"role": role, "content": content})
    return out


def _score(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _pair(prompt: list, chosen: list, rejected: list, **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **extra}


# --- rated formats -----------------------------------------------------------------------------


def _is_raw_uf(row: dict) -> bool:
    return "instruction" in row and "completions" in row


def _raw_uf(row: dict) -> dict:
    if not isinstance(row.get("completions"), list):
        raise RowError(
            "completions", f"completions is a {type(row['completions']).__name__}, expected a list"
        )
    out = dict(row)
    out.setdefault("source", "")
    out.setdefault(
        "models",
        row.get("model_names", [c.get("model", "") for c in row["completions"] if isinstance(c, dict)]),
    )
    return out


_register(
    "ultrafeedback", "rated", _is_raw_uf, _raw_uf, "raw openbmb/UltraFeedback: instruction + completions[]"
)


def _is_distilabel(row: dict) -> bool:
    return "instruction" in row and "generations" in row and "ratings" in row


def _distilabel(row: dict) -> dict:
    gens, ratings = row["generations"], row["ratings"]
    if not isinstance(gens, list) or not isinstance(ratings, list):
        raise RowError("generations", "generations and ratings must be lists")
    if len(ratings) != len(gens):
        raise RowError("ratings", f"{len(ratings)} ratings for {len(gens)} generations")
    models = row.get("generation_models") or row.get("model_names") or row.get("models") or [""] * len(gens)
    rationales = row.get("rationales") or [""] * len(gens)
    aspect = str(row.get("aspect") or "overall_rating").replace("-", "_")
    completions = []
    for i, text in enumerate(gens):
        rating = ratings[i]
        completions.append(
            {
                "model": models[i] if i < len(models) else "",
                "response": text,
                "annotations": {
                    aspect: {
                        "Rating": "N/A" if rating is None else str(rating),
                        "Rationale": rationales[i] if i < len(rationales) else "",
                    }
                },
                "overall_score": None,
                "critique": "",
            }
        )
    return {
        "instruction": row["instruction"],
        "source": row.get("source", "distilabel"),
        "completions": completions,
    }


_register(
    "distilabel_ultrafeedback",
    "rated",
    _is_distilabel,
    _distilabel,
    "distilabel: instruction + generations[] + ratings[]",
)

TAG = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.S)
    for name in ("instruction", "response", "score", "critique")
}


def _is_critique(row: dict) -> bool:
    msgs = row.get("messages")
    return (
        isinstance(msgs, list)
        and len(msgs) >= 2
        and all(isinstance(m, dict) for m in msgs)
        and any("<instruction>" in str(m.get("content", "")) for m in msgs)
        and any("<score>" in str(m.get("content", "")) for m in msgs if m.get("role") == "assistant")
    )


def _critique(row: dict) -> dict:
    user = next(
        (
            m["content"]
            for m in row["messages"]
            if m.get("role") == "user" and "<instruction>" in m["content"]
        ),
        "",
    )
    answer = next((m["content"] for m in row["messages"] if m.get("role") == "assistant"), "")
    found = {k: TAG[k].search(user if k in ("instruction", "response") else answer) for k in TAG}
    for key in ("instruction", "response", "score"):
        if found[key] is None:
            raise RowError(f"messages.<{key}>", f"no <{key}>...</{key}> tag in the critique messages")
    score = _score(found["score"].group(1).strip())
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


def _group_records(records: list[Record]) -> list[Record]:
    """Critique rows hold one completion each: gather the completions of each instruction."""
    merged: dict[str, Record] = {}
    for rec in records:
        key = rec.row["instruction"]
        if key in merged:
            merged[key].row["completions"] += rec.row["completions"]
        else:
            merged[key] = Record({**rec.row, "completions": list(rec.row["completions"])}, rec.file, rec.line)
    return list(merged.values())


_register(
    "critique_messages",
    "rated",
    _is_critique,
    _critique,
    "messages with <instruction>/<response> in the user turn and <score>/<critique> in the assistant turn; grouped by instruction",
    group=True,
)

# --- pair formats ------------------------------------------------------------------------------


def _is_trl_pairs(row: dict) -> bool:
    return (
        "chosen" in row
        and "rejected" in row
        and not isinstance(row["chosen"], dict)
        and "conversations" not in row
    )


def _strip_prompt(prompt: list, conv: list) -> list:
    return conv[len(prompt) :] if conv[: len(prompt)] == prompt else conv


def _trl_pairs(row: dict) -> dict:
    chosen, rejected = messages(row["chosen"], "chosen"), messages(row["rejected"], "rejected")
    if "prompt" in row and row["prompt"] is not None:
        prompt = messages(row["prompt"], "prompt", default_role="user")
    else:  # implicit prompt: the shared leading messages of chosen and rejected
        n = 0
        while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
            n += 1
        prompt = chosen[:n]
    chosen, rejected = _strip_prompt(prompt, chosen), _strip_prompt(prompt, rejected)
    meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    extra = {
        k: v for k, v in row.items() if k not in ("prompt", "chosen", "rejected", "messages", "metadata")
    }
    extra["score_chosen"] = _score(row.get("score_chosen", meta.get("score_chosen")))
    extra["score_rejected"] = _score(row.get("score_rejected", meta.get("score_rejected")))
    extra.setdefault("source", meta.get("source", ""))
    return _pair(prompt, chosen, rejected, **extra)


_register(
    "trl_pairs",
    "pairs",
    _is_trl_pairs,
    _trl_pairs,
    "H4/TRL: prompt (optional) + chosen + rejected, text or message lists",
)


def _is_argilla(row: dict) -> bool:
    return (
        "chosen_response" in row and "rejected_response" in row and ("instruction" in row or "prompt" in row)
    )


def _argilla(row: dict) -> dict:
    prompt = messages(row.get("instruction", row.get("prompt")), "instruction", default_role="user")
    return _pair(
        prompt,
        messages(row["chosen_response"], "chosen_response"),
        messages(row["rejected_response"], "rejected_response"),
        score_chosen=_score(row.get("chosen_avg_rating", row.get("chosen_rating"))),
        score_rejected=_score(row.get("rejected_avg_rating", row.get("rejected_rating"))),
        source=row.get("source", ""),
        chosen_model=row.get("chosen_model", ""),
        rejected_model=row.get("rejected_model", ""),
    )


_register(
    "argilla_binarized",
    "pairs",
    _is_argilla,
    _argilla,
    "Argilla: instruction + chosen_response + rejected_response (+ *_avg_rating)",
)


def _is_sharegpt(row: dict) -> bool:
    return "conversations" in row and isinstance(row.get("chosen"), dict) and "rejected" in row


def _sharegpt(row: dict) -> dict:
    return _pair(
        messages(row["conversations"], "conversations"),
        messages(row["chosen"], "chosen"),
        messages(row["rejected"], "rejected"),
        score_chosen=None,
        score_rejected=None,
        source=row.get("source", "sharegpt"),
    )


_register(
    "sharegpt_dpo",
    "pairs",
    _is_sharegpt,
    _sharegpt,
    "ShareGPT DPO: conversations[] + chosen{from,value} + rejected{from,value}",
)


def _is_stack(row: dict) -> bool:
    return "question" in row and "response_j" in row and "response_k" in row


def _stack(row: dict) -> dict:
    return _pair(
        messages(row["question"], "question", default_role="user"),
        messages(row["response_j"], "response_j"),
        messages(row["response_k"], "response_k"),
        score_chosen=None,
        score_rejected=None,
        source=row.get("source", "stack-exchange-paired"),
        qid=row.get("qid"),
    )


_register(
    "stack_exchange_paired",
    "pairs",
    _is_stack,
    _stack,
    "stack-exchange-paired: question + response_j (preferred) + response_k",
)

# --- unpaired formats --------------------------------------------------------------------------


def _label(value: Any) -> bool:
    if not isinstance(value, bool | int | float | str):
        raise RowError("label", f"label is a {type(value).__name__}, expected true/false")
    if value in TRUE_LABELS:
        return True
    if value in FALSE_LABELS:
        return False
    raise RowError("label", f"label {value!r} is not a boolean (true/false)")


def _is_kto(row: dict) -> bool:
    return "label" in row and ("messages" in row or "conversations" in row) and "completion" not in row


def _kto(row: dict) -> dict:
    conv = messages(row.get("messages", row.get("conversations")), "messages")
    if not conv or conv[-1]["role"] != "assistant":
        raise RowError("messages", "the last message must be the assistant completion being labelled")
    return {"prompt": conv[:-1], "completion": conv[-1:], "label": _label(row["label"])}


_register(
    "kto_messages", "unpaired", _is_kto, _kto, "KTO: messages[] ending with the assistant turn + label (bool)"
)


def _is_trl_unpaired(row: dict) -> bool:
    return "completion" in row and "label" in row


def _trl_unpaired(row: dict) -> dict:
    prompt = messages(row.get("prompt", []), "prompt", default_role="user")
    extra = {k: v for k, v in row.items() if k not in ("prompt", "completion", "label")}
    return {
        "prompt": prompt,
        "completion": messages(row["completion"], "completion"),
        "label": _label(row["label"]),
        **extra,
    }


_register(
    "trl_unpaired",
    "unpaired",
    _is_trl_unpaired,
    _trl_unpaired,
    "TRL unpaired/KTO: prompt + completion + label",
)


def detect_format(records: list[Record], sample: int = 50) -> Format:
    """The one format matching the first rows; otherwise a DataError saying why and how to choose."""
    if not records:
        raise DataError("no readable rows, so the format cannot be detected")
    rows = [r.row for r in records[:sample]]
    votes = {name: sum(FORMATS.get(name).detect(r) for r in rows) for name in FORMATS.names()}
    full = [n for n, v in votes.items() if v == len(rows)]
    first = records[0]
    if len(full) == 1:
        return FORMATS.get(full[0])
    if len(full) > 1:
        raise DataError(
            f"{first.file}: ambiguous format, rows match {', '.join(full)} (keys: {', '.join(sorted(first.row))}); "
            f"choose one with --format {full[0]}"
        )
    best = max(votes, key=lambda n: votes[n])
    if votes[best] > len(rows) // 2:
        return FORMATS.get(best)  # a minority of malformed rows is quarantined later
    known = "; ".join(f"{n}: {FORMATS.get(n).describe}" for n in FORMATS.names())
    raise DataError(
        f"{first.file}:{first.line}: unknown format (keys: {', '.join(sorted(first.row)[:15])}). "
        f"Known formats: {known}. Choose one with --format NAME"
    )
