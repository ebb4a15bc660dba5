"""`notus eval preference`: held-out preference accuracy of a model against a reference (no judge).

notus eval preference --model runs/x/model-notus --reference smollm2-135m-instruct --data pairs.jsonl
"""

from __future__ import annotations

import argparse
import json

from notus.core.errors import DataError
from notus.eval.files import read_jsonl, summarize


def _is_messages(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in value)
    )  # fmt: skip


def load_pairs(path: str, limit: int | None) -> list[dict]:
    """TRL conversational pairs (a plain-text prompt/answer is wrapped as one message); all problems at once."""
    rows, problems = [], []
    for n, row in read_jsonl(path, "preference pairs"):
        for key in ("prompt", "chosen", "rejected"):
            value = row.get(key)
            if isinstance(value, str):
                row[key] = value = [{"role": "user" if key == "prompt" else "assistant", "content": value}]
            if not _is_messages(value):
                problems.append(f"{path}:{n}: `{key}` must be a non-empty list of {{role, content}} messages")
        rows.append(row)
    if problems:
        raise DataError(
            f"{len(problems)} problem(s) in the preference pairs (TRL conversational format): {summarize(problems)}"
        )
    return rows[:limit] if limit else rows


def main(args: argparse.Namespace) -> int:
    from notus.eval.preference import preference_metrics, sequence_logps

    pairs = load_pairs(args.data, args.max_pairs)
    if not pairs:
        raise DataError(f"{args.data}: no preference pairs")
    policy = sequence_logps(args.model, pairs, max_length=args.max_length, desc="policy log-probs")
    reference = sequence_logps(args.reference, pairs, max_length=args.max_length, desc="reference log-probs")
    metrics = preference_metrics(policy, reference, beta=args.beta)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    return 0
