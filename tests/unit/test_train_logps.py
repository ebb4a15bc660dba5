"""Shared-prompt packing and the chunked fp32 LM head give the same log-probs and gradients as a plain
per-sequence forward; the DPO loss variants follow their formulas."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from notus.train import logps as logps_module
from notus.train.data import PairTokens, tokenize_conversations
from notus.train.logps import pack_pairs, sequence_logps
from notus.train.losses import PairLogps, dpo_loss
from notus.train.sft import pack_conversations


def naive_logps(model, prompt: list[int], completion: list[int]) -> torch.Tensor:
    ids = torch.tensor([prompt + completion])
    logp = torch.log_softmax(model(ids).logits.float(), -1)[0, :-1].gather(1, ids[0, 1:, None])[:, 0]
    return logp[len(prompt) - 1 :].sum()


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)


PAIRS = [
    PairTokens([1, 5, 6, 7], [8, 9, 2], [10, 2]),
    PairTokens([1, 11], [12, 13, 14, 15, 2], [16, 17, 18, 2]),
    PairTokens([1, 20, 21, 22, 23, 24], [2], [25, 26, 2]),
]


def test_packed_pairs_match_plain_forward_values_and_gradients(model, monkeypatch):
    monkeypatch.setattr(logps_module, "LM_HEAD_CHUNK", 4)  # several chunks in forward and backward
    model.zero_grad()
    sums, counts = sequence_logps(model, pack_pairs(PAIRS))
    sums.sum().backward()
    packed_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    expected = torch.stack([naive_logps(model, p.prompt, c) for p in PAIRS for c in (p.chosen, p.rejected)])
    expected.sum().backward()
    assert torch.allclose(sums, expected.detach(), atol=1e-4)
    assert counts.tolist() == [len(c) for p in PAIRS for c in (p.chosen, p.rejected)]
    for name, p in model.named_parameters():
        torch.testing.assert_close(packed_grads[name], p.grad, rtol=1e-3, atol=1e-5, msg=name)


def test_packed_conversations_do_not_see_each_other(model, tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]},
        {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
    ]
    items = tokenize_conversations(rows, tokenizer, 256)
    packed = pack_conversations(items, 256, packing=True)
    assert packed.input_ids.shape[0] == 1  # both in one row
    with torch.no_grad():
        sums, _ = sequence_logps(model, packed)
        alone = [
            sequence_logps(model, pack_conversations([item], 256, packing=False))[0][0] for item in items
        ]
    assert torch.allclose(sums, torch.stack(alone), atol=1e-4)


def lp(chosen, rejected, ref_c=0.0, ref_r=0.0, n_c=2.0, n_r=4.0) -> PairLogps:
    t = lambda v: torch.tensor([float(v)])  # noqa: E731
    return PairLogps(t(chosen), t(rejected), t(ref_c), t(ref_r), t(n_c), t(n_r))


def test_loss_variants():
    beta = 0.1
    zero = lp(-10, -10, -10, -10)
    assert dpo_loss(zero, "sigmoid", beta)[0].item() == pytest.approx(math.log(2))
    assert dpo_loss(zero, "hinge", beta)[0].item() == pytest.approx(1.0)
    assert dpo_loss(zero, "ipo", beta)[0].item() == pytest.approx((1 / (2 * beta)) ** 2)
    assert dpo_loss(zero, "robust", beta, label_smoothing=0.2)[0].item() == pytest.approx(math.log(2))
    pair = lp(-4, -12, -6, -10)  # chosen ratio +2, rejected ratio -2
    loss, rc, rr = dpo_loss(pair, "sigmoid", beta)
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.4))))
    assert (rc.item(), rr.item()) == (pytest.approx(0.2), pytest.approx(-0.2))
    simpo = dpo_loss(pair, "simpo", 2.0, simpo_gamma=0.5)[0].item()
    assert simpo == pytest.approx(-math.log(1 / (1 + math.exp(-(2.0 * (-4 / 2 + 12 / 4) - 0.5)))))
    rpo = dpo_loss(pair, "rpo", beta, rpo_alpha=1.0)[0].item()
    assert rpo == pytest.approx(loss.item() + 4 / 2)
