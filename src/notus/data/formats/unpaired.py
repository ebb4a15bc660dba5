"""Unpaired formats (canonical kind `unpaired`, TRL `prompt/completion/label`): KTO message rows
and TRL unpaired rows."""

from __future__ import annotations

from typing import Any

from notus.data.formats.base import RowError, messages, register

TRUE_LABELS, FALSE_LABELS = {True, "true", "True", "1", "yes"}, {False, "false", "False", "0", "no"}


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


@register(
    "kto_messages", "unpaired", _is_kto, "KTO: messages[] ending with the assistant turn + label (bool)"
)
def _kto(row: dict) -> dict:
    conv = messages(row.get("messages", row.get("conversations")), "messages")
    if not conv or conv[-1]["role"] != "assistant":
        raise RowError("messages", "the last message must be the assistant completion being labelled")
    return {"prompt": conv[:-1], "completion": conv[-1:], "label": _label(row["label"])}


def _is_trl_unpaired(row: dict) -> bool:
    return "completion" in row and "label" in row


@register("trl_unpaired", "unpaired", _is_trl_unpaired, "TRL unpaired/KTO: prompt + completion + label")
def _trl_unpaired(row: dict) -> dict:
    prompt = messages(row.get("prompt", []), "prompt", default_role="user")
    completion = messages(row["completion"], "completion")
    extra = {k: v for k, v in row.items() if k not in ("prompt", "completion", "label")}
    return {"prompt": prompt, "completion": completion, "label": _label(row["label"]), **extra}
