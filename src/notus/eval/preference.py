"""Preference accuracy on held-out pairs: no judge needed, only log-probabilities.

    notus eval preference --model runs/x/model-notus --reference smollm2-135m-instruct --data pairs.jsonl

    pairs = pair_tokens("smollm2-135m-instruct", rows, max_length=512, max_prompt_length=256)
    ref, pol = pair_logps("smollm2-135m-instruct", pairs), pair_logps("runs/x/model-notus", pairs)
    preference_metrics(PairLogps(pol[:, 0], pol[:, 1], ref[:, 0], ref[:, 1], *pair_counts(pairs)), beta=0.1)

Pairs are tokenized and scored exactly as DPO training does (`notus.train.data.tokenize_pairs`: chat
template, EOS-terminated answers, prompt cut to `max_prompt_length` from the left; the packed
[prompt | chosen | rejected] forward of `notus.train.reference.compute_reference`), so held-out
accuracy measures what training optimised. Two numbers per model:
- `reward_accuracy`: share of pairs where DPO's implicit reward beta * (log pi - log pi_ref) of the
  chosen answer is strictly higher than the rejected one's (TRL's `rewards/accuracies`). For the
  reference model itself every reward is 0, so its reward accuracy is 0 by definition.
- `logp_accuracy`: share of pairs where the model alone gives the chosen answer a higher mean
  per-token log-prob than the rejected one (length-normalized, comparable before training).
Each comes with its counts and a Wilson 95 % interval, and the per-pair outcomes (for paired tests).
"""

from __future__ import annotations

from typing import Any

from notus.eval.stats import wilson
from notus.train.data import PairTokens
from notus.train.losses import PairLogps

MICRO_BATCH_TOKENS = 8192  # tokens per packed forward pass


def pair_tokens(
    tokenizer_ref: str, rows: list[dict], max_length: int, max_prompt_length: int | None = None
) -> list[PairTokens]:
    """The training stage's tokenization of preference rows, with the tokenizer of `tokenizer_ref`."""
    from notus.llm.models import load_pretrained
    from notus.train.data import tokenize_pairs

    tokenizer, _ = load_pretrained(tokenizer_ref, model=False)
    return tokenize_pairs(rows, tokenizer, max_length, max_prompt_length)


def pair_counts(pairs: list[PairTokens]) -> tuple[Any, Any]:
    """Scored tokens of every chosen and rejected answer (float tensors)."""
    import torch

    counts = torch.tensor([[len(p.chosen), len(p.rejected)] for p in pairs], dtype=torch.float32)
    return counts[:, 0], counts[:, 1]


def pair_logps(model_ref: str, pairs: list[PairTokens], budget: int = MICRO_BATCH_TOKENS) -> Any:
    """[pairs, 2] summed fp32 log-probs of (chosen, rejected) under one model, as training computes them."""
    from notus.llm.models import load_pretrained
    from notus.train.reference import compute_reference

    _, model = load_pretrained(model_ref)
    return compute_reference(model, pairs, budget)


def preference_metrics(lp: PairLogps, beta: float = 0.1) -> dict[str, Any]:
    """Pure function: implicit-reward and log-prob preference accuracy, counts and Wilson intervals."""
    n = len(lp.chosen)
    if n == 0 or n != len(lp.ref_chosen):
        raise ValueError(f"need the same non-zero number of pairs, got {n} and {len(lp.ref_chosen)}")
    reward_chosen = beta * (lp.chosen - lp.ref_chosen)
    reward_rejected = beta * (lp.rejected - lp.ref_rejected)
    reward_right = (reward_chosen > reward_rejected).tolist()
    logp_right = (
        lp.chosen / lp.chosen_tokens.clamp(min=1) > lp.rejected / lp.rejected_tokens.clamp(min=1)
    ).tolist()
    out: dict[str, Any] = {"n": n, "reward_margin_mean": float((reward_chosen - reward_rejected).mean())}
    for name, right in (("reward", reward_right), ("logp", logp_right)):
        k = sum(right)
        low, high = wilson(k, n)
        out |= {f"{name}_wins": k, f"{name}_accuracy": k / n, f"{name}_accuracy_ci": [low, high]}
        out[f"{name}_correct"] = [int(r) for r in right]
    return out
