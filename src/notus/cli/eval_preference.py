"""`notus eval preference`: held-out preference accuracy of a model against a reference (no judge).

notus eval preference --model runs/x/model-notus --reference smollm2-135m-instruct --data pairs.jsonl
"""

from __future__ import annotations

import argparse
import json

from notus.core.errors import DataError
from notus.core.runs import read_jsonl


def load_pairs(path: str, limit: int | None) -> list[dict]:
    try:
        rows = read_jsonl(path)
    except FileNotFoundError:
        raise DataError(f"{path}: preference pairs file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    for n, row in enumerate(rows, 1):
        for key in ("prompt", "chosen", "rejected"):
            value = row.get(key)
            if isinstance(value, str) and key == "prompt":
                row[key] = value = [{"role": "user", "content": value}]
            elif isinstance(value, str):
                row[key] = value = [{"role": "assistant", "content": value}]
            if not isinstance(value, list) or not value:
                raise DataError(
                    f"{path} row {n}: `{key}` must be a non-empty list of {{role, content}} messages "
                    "(TRL conversational format)"
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
