"""Pair formats (canonical kind `pairs`, TRL conversational `prompt/chosen/rejected`): H4/TRL
binarized rows, Argilla binarized rows, ShareGPT DPO rows and stack-exchange-paired rows."""

from __future__ import annotations

from notus.data.formats.base import messages, pair, register, score_value


def _is_trl_pairs(row: dict) -> bool:
    return (
        "chosen" in row
        and "rejected" in row
        and not isinstance(row["chosen"], dict)
        and "conversations" not in row
    )


def _strip_prompt(prompt: list, conv: list) -> list:
    return conv[len(prompt) :] if conv[: len(prompt)] == prompt else conv


@register(
    "trl_pairs",
    "pairs",
    _is_trl_pairs,
    "H4/TRL: prompt (optional) + chosen + rejected, text or message lists",
)
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
    extra["score_chosen"] = score_value(row.get("score_chosen", meta.get("score_chosen")))
    extra["score_rejected"] = score_value(row.get("score_rejected", meta.get("score_rejected")))
    extra.setdefault("source", meta.get("source", ""))
    return pair(prompt, chosen, rejected, **extra)


def _is_argilla(row: dict) -> bool:
    return (
        "chosen_response" in row and "rejected_response" in row and ("instruction" in row or "prompt" in row)
    )


@register(
    "argilla_binarized",
    "pairs",
    _is_argilla,
    "Argilla: instruction + chosen_response + rejected_response (+ *_avg_rating)",
)
def _argilla(row: dict) -> dict:
    prompt = messages(row.get("instruction", row.get("prompt")), "instruction", default_role="user")
    return pair(
        prompt,
        messages(row["chosen_response"], "chosen_response"),
        messages(row["rejected_response"], "rejected_response"),
        score_chosen=score_value(row.get("chosen_avg_rating", row.get("chosen_rating"))),
        score_rejected=score_value(row.get("rejected_avg_rating", row.get("rejected_rating"))),
        source=row.get("source", ""),
        chosen_model=row.get("chosen_model", ""),
        rejected_model=row.get("rejected_model", ""),
    )


def _is_sharegpt(row: dict) -> bool:
    return "conversations" in row and isinstance(row.get("chosen"), dict) and "rejected" in row


@register(
    "sharegpt_dpo",
    "pairs",
    _is_sharegpt,
    "ShareGPT DPO: conversations[] + chosen{from,value} + rejected{from,value}",
)
def _sharegpt(row: dict) -> dict:
    return pair(
        messages(row["conversations"], "conversations"),
        messages(row["chosen"], "chosen"),
        messages(row["rejected"], "rejected"),
        score_chosen=None,
        score_rejected=None,
        source=row.get("source", "sharegpt"),
    )


def _is_stack(row: dict) -> bool:
    return "question" in row and "response_j" in row and "response_k" in row


@register(
    "stack_exchange_paired",
    "pairs",
    _is_stack,
    "stack-exchange-paired: question + response_j (preferred) + response_k",
)
def _stack(row: dict) -> dict:
    return pair(
        messages(row["question"], "question", default_role="user"),
        messages(row["response_j"], "response_j"),
        messages(row["response_k"], "response_k"),
        score_chosen=None,
        score_rejected=None,
        source=row.get("source", "stack-exchange-paired"),
        qid=row.get("qid"),
    )
