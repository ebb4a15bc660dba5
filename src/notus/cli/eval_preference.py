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
    from notus.eval.preference import pair_counts, pair_logps, pair_tokens, preference_metrics
    from notus.train.losses import PairLogps

    pairs = load_pairs(args.data, args.max_pairs)
    if not pairs:
        raise DataError(f"{args.data}: no preference pairs")
    tokens = pair_tokens(args.reference, pairs, args.max_length, args.max_prompt_length)
    policy, reference = pair_logps(args.model, tokens), pair_logps(args.reference, tokens)
    lp = PairLogps(policy[:, 0], policy[:, 1], reference[:, 0], reference[:, 1], *pair_counts(tokens))
    metrics = preference_metrics(lp, beta=args.beta)
    if not args.per_pair:
        metrics = {k: v for k, v in metrics.items() if not k.endswith("_correct")}
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        for key, value in metrics.items():
            print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    return 0
