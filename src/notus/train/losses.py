"""DPO loss variants as pure functions of per-sequence log-probs (fp32 tensors of shape [pairs]).

Each returns per-pair losses and the implicit rewards beta * (policy - reference) log-ratio, so the
loop can log rewards/chosen, rewards/rejected, margins and accuracies the way TRL does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class PairLogps:
    chosen: torch.Tensor  # summed log-probs of the chosen completions under the policy
    rejected: torch.Tensor
    ref_chosen: torch.Tensor  # same under the reference model (no grad)
    ref_rejected: torch.Tensor
    chosen_tokens: torch.Tensor  # scored tokens per completion
    rejected_tokens: torch.Tensor


def dpo_loss(
    lp: PairLogps,
    loss_type: str,
    beta: float,
    label_smoothing: float = 0.0,
    rpo_alpha: float = 1.0,
    simpo_gamma: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(per-pair loss, chosen reward, rejected reward)."""
    chosen_ratio = lp.chosen - lp.ref_chosen
    rejected_ratio = lp.rejected - lp.ref_rejected
    delta = chosen_ratio - rejected_ratio
    if loss_type == "sigmoid":  # DPO (Rafailov et al. 2023)
        loss = -F.logsigmoid(beta * delta)
    elif loss_type == "robust":  # rDPO (Chowdhury et al. 2024): unbiased under flipped labels
        eps = label_smoothing
        loss = (-(1 - eps) * F.logsigmoid(beta * delta) + eps * F.logsigmoid(-beta * delta)) / (1 - 2 * eps)
    elif loss_type == "hinge":  # SLiC
        loss = torch.relu(1 - beta * delta)
    elif loss_type == "ipo":  # IPO (Azar et al. 2023) on per-token averaged log-ratios
        avg = chosen_ratio / lp.chosen_tokens.clamp(min=1) - rejected_ratio / lp.rejected_tokens.clamp(min=1)
        loss = (avg - 1 / (2 * beta)) ** 2
    elif loss_type == "simpo":  # SimPO (Meng et al. 2024): length-normalised, reference-free, margin gamma
        avg = lp.chosen / lp.chosen_tokens.clamp(min=1) - lp.rejected / lp.rejected_tokens.clamp(min=1)
        loss = -F.logsigmoid(beta * avg - simpo_gamma)
        chosen_reward = beta * lp.chosen.detach() / lp.chosen_tokens.clamp(min=1)
        rejected_reward = beta * lp.rejected.detach() / lp.rejected_tokens.clamp(min=1)
        return loss, chosen_reward, rejected_reward
    elif loss_type == "rpo":  # RPO (Pang et al. 2024): DPO + NLL of the chosen completion per token
        nll = -lp.chosen / lp.chosen_tokens.clamp(min=1)
        loss = -F.logsigmoid(beta * delta) + rpo_alpha * nll
    else:
        raise ValueError(f"unknown DPO loss_type {loss_type!r}")
    return loss, beta * chosen_ratio.detach(), beta * rejected_ratio.detach()
