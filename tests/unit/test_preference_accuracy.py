"""Preference accuracy: answer tokens are found through the chat template, log-probs add up, and the
implicit-reward metric behaves as DPO defines it."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from notus.eval.preference import PairLogps, answer_token_ids, preference_metrics, sequence_logps

PAIR = {
    "prompt": [{"role": "user", "content": "What is 2 + 2?"}],
    "chosen": [{"role": "assistant", "content": "2 + 2 = 4."}],
    "rejected": [{"role": "assistant", "content": "It is 5."}],
}


def test_answer_tokens_follow_the_chat_template(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids, start = answer_token_ids(tok, PAIR["prompt"], PAIR["chosen"], max_length=512)
    answer = tok.decode(ids[start:])
    assert answer.startswith("2 + 2 = 4.") and answer.rstrip().endswith("<|im_end|>")
    assert tok.decode(ids[:start]).endswith("<|im_start|>assistant\n")


def test_sequence_logps_match_a_direct_computation(tiny_model_dir):
    (got,) = sequence_logps(str(tiny_model_dir), [PAIR], batch_size=2)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids, start = answer_token_ids(tok, PAIR["prompt"], PAIR["rejected"], max_length=512)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    expected = sum(torch.log_softmax(logits[t - 1], -1)[ids[t]].item() for t in range(start, len(ids)))
    assert abs(got.rejected - expected) < 1e-3
    assert got.rejected_tokens == len(ids) - start


def test_preference_metrics():
    ref = [PairLogps(-10, -10, 5, 5), PairLogps(-10, -10, 5, 5)]
    pol = [PairLogps(-8, -12, 5, 5), PairLogps(-12, -9, 5, 5)]
    m = preference_metrics(pol, ref, beta=0.1)
    assert m["n"] == 2 and m["reward_accuracy"] == 0.5 and m["logp_accuracy"] == 0.5
    assert abs(m["reward_margin_mean"] - (0.4 - 0.3) / 2) < 1e-9
    assert preference_metrics(ref, ref)["reward_accuracy"] == 0.0  # the reference against itself
