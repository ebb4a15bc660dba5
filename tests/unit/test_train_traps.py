"""The traps users keep hitting, each pinned by a test on the tiny model's real SmolLM2 tokenizer."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from notus.core.errors import RecipeError
from notus.train.data import tokenize_conversations, tokenize_pairs
from notus.train.logps import pack_pairs, sequence_logps
from notus.train.recipes import train_recipe

CONVERSATION = {
    "prompt": [{"role": "user", "content": "What is 2 + 2?"}],
    "chosen": [{"role": "assistant", "content": "4."}],
    "rejected": [{"role": "assistant", "content": "22, if you glue them."}],
}


def template_ids(tokenizer, messages, **kwargs) -> list[int]:
    out = tokenizer.apply_chat_template(messages, **kwargs)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_training_tokens_use_the_tokenizers_own_chat_template(tokenizer):
    """Training renders exactly what evaluation and serving render with apply_chat_template."""
    (pair,) = tokenize_pairs([CONVERSATION], tokenizer, max_length=512)
    assert pair.prompt == template_ids(tokenizer, CONVERSATION["prompt"], add_generation_prompt=True)
    full = template_ids(tokenizer, CONVERSATION["prompt"] + CONVERSATION["chosen"])
    assert full[: len(pair.prompt) + len(pair.chosen)] == pair.prompt + pair.chosen
    # the template's only addition after the end-of-turn token is whitespace
    assert not tokenizer.decode(full[len(pair.prompt) + len(pair.chosen) :]).strip()


def test_no_double_bos_or_eos(tokenizer):
    (pair,) = tokenize_pairs([CONVERSATION], tokenizer, max_length=512)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    for ids in (pair.prompt + pair.chosen, pair.prompt + pair.rejected):
        assert ids[0] == bos and ids[1] != bos, "the template's BOS, once"
        assert not any(a == b == eos for a, b in zip(ids, ids[1:])), "two EOS in a row"
    sft = tokenize_conversations(
        [{"messages": CONVERSATION["prompt"] + CONVERSATION["chosen"]}], tokenizer, 512
    )
    assert sft[0].ids[0] == tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert sft[0].ids[1] != sft[0].ids[0]


def test_eos_ends_every_completion_and_is_scored_even_when_pad_equals_eos(tokenizer, tiny_model_dir):
    assert tokenizer.pad_token_id == tokenizer.eos_token_id  # the real SmolLM2 case
    pairs = tokenize_pairs(
        [CONVERSATION, {**CONVERSATION, "chosen": [{"role": "assistant", "content": "x " * 40}]}],
        tokenizer,
        512,
    )
    for pair in pairs:
        assert pair.chosen[-1] == tokenizer.eos_token_id and pair.rejected[-1] == tokenizer.eos_token_id
    packed = pack_pairs(pairs)  # rows of different lengths: the short one is padded
    for i, pair in enumerate(pairs):
        scored = packed.targets[packed.seq_index == 2 * i].tolist()
        assert scored == pair.chosen, "every chosen token, its final EOS included, is scored"
        assert packed.targets[packed.seq_index == 2 * i + 1].tolist() == pair.rejected
    sft = tokenize_conversations(
        [{"messages": CONVERSATION["prompt"] + CONVERSATION["chosen"]}], tokenizer, 512
    )
    trained = [t for t, m in zip(sft[0].ids, sft[0].labels_mask) if m]
    assert trained[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(trained) == "4.<|im_end|>", "loss on the assistant answer and its EOS only"


def test_log_probs_are_fp32_even_for_a_bf16_model(tiny_model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    packed = pack_pairs(tokenize_pairs([CONVERSATION], tokenizer, 512))
    (pair,) = tokenize_pairs([CONVERSATION], tokenizer, 512)
    sums, counts = sequence_logps(model, packed)
    assert sums.dtype == torch.float32
    assert counts.tolist() == [len(pair.chosen), len(pair.rejected)]
    assert torch.isfinite(sums).all()


def test_dpo_in_fp16_is_refused_before_any_work(tmp_path):
    with pytest.raises(RecipeError, match="DPO in fp16 is refused"):
        train_recipe("dpo", fp16=True, output_dir=str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
