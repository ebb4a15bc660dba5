"""Preference accuracy scores pairs exactly as DPO training does (same tokenization, same packed
forward), log-probs add up, and the implicit-reward metric behaves as DPO defines it."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from notus.eval.preference import pair_counts, pair_logps, pair_tokens, preference_metrics
from notus.train.data import tokenize_pairs
from notus.train.losses import PairLogps

PAIR = {
    "prompt": [{"role": "user", "content": "What is 2 + 2?"}],
    "chosen": [{"role": "assistant", "content": "2 + 2 = 4."}],
    "rejected": [{"role": "assistant", "content": "It is 5."}],
}


def test_pairs_are_tokenized_by_the_training_stage(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    (got,) = pair_tokens(str(tiny_model_dir), [PAIR], max_length=64, max_prompt_length=8)
    assert got == tokenize_pairs([PAIR], tok, 64, 8)[0]
    assert len(got.prompt) == 8 and got.chosen[-1] == tok.eos_token_id  # prompt cut from the left, EOS kept
    assert tok.decode(got.chosen).startswith("2 + 2 = 4.")


def test_pair_logps_match_a_direct_computation(tiny_model_dir):
    (tokens,) = pair_tokens(str(tiny_model_dir), [PAIR], max_length=512)
    got = pair_logps(str(tiny_model_dir), [tokens])
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = tokens.prompt + tokens.rejected
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    start = len(tokens.prompt)
    expected = sum(torch.log_softmax(logits[t - 1], -1)[ids[t]].item() for t in range(start, len(ids)))
    assert got.shape == (1, 2) and abs(float(got[0, 1]) - expected) < 1e-3
    assert pair_counts([tokens])[1].tolist() == [len(tokens.rejected)]


def test_preference_metrics_counts_intervals_and_outcomes():
    t = torch.tensor
    ref = (t([-10.0, -10.0]), t([-10.0, -10.0]))
    lp = PairLogps(t([-8.0, -12.0]), t([-12.0, -9.0]), *ref, t([5.0, 5.0]), t([5.0, 5.0]))
    m = preference_metrics(lp, beta=0.1)
    assert m["n"] == 2 and m["reward_wins"] == 1 and m["reward_accuracy"] == 0.5 and m["logp_accuracy"] == 0.5
    assert m["reward_correct"] == [1, 0] and m["logp_correct"] == [1, 0]
    assert abs(m["reward_margin_mean"] - (0.4 - 0.3) / 2) < 1e-6
    low, high = m["reward_accuracy_ci"]
    assert 0 < low < 0.5 < high < 1
    same = PairLogps(*ref, *ref, t([5.0, 5.0]), t([5.0, 5.0]))
    assert preference_metrics(same)["reward_accuracy"] == 0.0  # the reference against itself
