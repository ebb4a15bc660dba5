"""Preference accuracy on held-out pairs: no judge needed, only log-probabilities.

    ref = sequence_logps("smollm2-135m-instruct", pairs)
    pol = sequence_logps("runs/x/model-notus", pairs)
    preference_metrics(pol, ref, beta=0.1)

Two numbers per model:
- `reward_accuracy`: share of pairs where DPO's implicit reward beta * (log pi - log pi_ref) of the
  chosen answer is strictly higher than the rejected one's (TRL's `rewards/accuracies`). For the
  reference model itself every reward is 0, so its reward accuracy is 0 by definition.
- `logp_accuracy`: share of pairs where the model alone gives the chosen answer a higher mean
  per-token log-prob than the rejected one (length-normalized, comparable before training).

Log-probs are summed in fp32 over the answer tokens only, with the model's own chat template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm


@dataclass
class PairLogps:
    chosen: float  # summed log-prob of the chosen answer tokens
    rejected: float
    chosen_tokens: int
    rejected_tokens: int


def answer_token_ids(
    tokenizer: Any, prompt: list[dict], answer: list[dict], max_length: int
) -> tuple[list, int]:
    """Token ids of prompt+answer (chat template) and the index where the answer starts."""
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(prompt + answer, tokenize=False)
    if not full_text.startswith(prompt_text):
        raise ValueError("the chat template renders the prompt differently with and without the answer")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    keep_prompt = max(1, min(len(prompt_ids), max_length // 2, max_length - len(answer_ids)))
    ids = (prompt_ids[-keep_prompt:] + answer_ids)[:max_length]
    return ids, keep_prompt


def sequence_logps(
    model_ref: str, pairs: list[dict], batch_size: int = 4, max_length: int = 512, desc: str | None = None
) -> list[PairLogps]:
    """Summed answer log-probs of every pair's chosen and rejected answer under one model."""
    import torch

    from notus.llm.models import load_pretrained

    tokenizer, model = load_pretrained(model_ref)
    model.eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    sequences = []
    for pair in pairs:
        for side in ("chosen", "rejected"):
            sequences.append(answer_token_ids(tokenizer, pair["prompt"], pair[side], max_length))
    # longest first, so each batch pads little; logits only at answer positions (the LM head over
    # a 49k vocabulary at every prompt and padding position would dominate the cost)
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i][0]))
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    sums: list[tuple[float, int]] = [(0.0, 0)] * len(sequences)
    for start in tqdm(range(0, len(order), batch_size), desc=desc or "log-probs", leave=False):
        batch = [sequences[i] for i in order[start : start + batch_size]]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, _) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        with torch.no_grad():
            hidden = decoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
            for row, (ids, answer_start) in enumerate(batch):
                # position t predicts token t+1: the answer is tokens answer_start..len-1
                logits = head(hidden[row, answer_start - 1 : len(ids) - 1]).float()
                targets = input_ids[row, answer_start : len(ids)]
                logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).sum()
                sums[order[start + row]] = (float(logp), len(ids) - answer_start)
    return [PairLogps(c[0], r[0], c[1], r[1]) for c, r in zip(sums[0::2], sums[1::2], strict=True)]


def preference_metrics(
    policy: list[PairLogps], reference: list[PairLogps], beta: float = 0.1
) -> dict[str, float]:
    """Pure function: implicit-reward and log-prob preference accuracy with a standard error."""
    n = len(policy)
    if n == 0 or n != len(reference):
        raise ValueError(f"need the same non-zero number of pairs, got {n} and {len(reference)}")
    margins, wins, logp_wins = [], 0, 0
    for p, r in zip(policy, reference, strict=True):
        reward_chosen = beta * (p.chosen - r.chosen)
        reward_rejected = beta * (p.rejected - r.rejected)
        margins.append(reward_chosen - reward_rejected)
        wins += reward_chosen > reward_rejected
        logp_wins += p.chosen / max(p.chosen_tokens, 1) > p.rejected / max(p.rejected_tokens, 1)
    accuracy, logp_accuracy = wins / n, logp_wins / n
    return {
        "n": n,
        "reward_accuracy": accuracy,
        "reward_accuracy_se": math.sqrt(accuracy * (1 - accuracy) / n),
        "reward_margin_mean": sum(margins) / n,
        "logp_accuracy": logp_accuracy,
        "logp_accuracy_se": math.sqrt(logp_accuracy * (1 - logp_accuracy) / n),
    }
