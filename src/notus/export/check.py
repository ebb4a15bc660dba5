"""Does a GGUF answer like the transformers model it came from? Greedy decoding on a fixed prompt set.

    agreement(Path("runs/dpo"), Path("dpo.q4_k_m.gguf"), max_new_tokens=32)
    -> {"prompts": 4, "greedy_equal": 4, "top1_agreement": 1.0, "positions": 128}

For each prompt (chat template applied by the Hugging Face tokenizer, so both sides see the same ids)
the transformers model decodes greedily; llama.cpp then (1) decodes greedily from the same prompt ids
(`greedy_equal` counts prompts whose tokens are identical) and (2) reads the transformers answer
teacher-forced, and `top1_agreement` is the share of positions where its most likely next token is the
transformers one (1.0 means the same greedy tokens; a quantized file reports how close it stays).
"""

from __future__ import annotations

from pathlib import Path

CHECK_PROMPTS = (
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Give three tips for staying healthy.",
    "Explain what a prime number is in one sentence.",
)


def transformers_greedy(folder: Path, prompts=CHECK_PROMPTS, max_new_tokens: int = 32):
    """[(prompt ids, greedy answer ids with its EOS if reached)] from the transformers model in `folder`."""
    import torch

    from notus.llm.models import load_pretrained

    tokenizer, model = load_pretrained(str(folder))
    out = []
    with torch.inference_mode():
        for prompt in prompts:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, return_dict=True
            )["input_ids"]
            gen = model.generate(
                torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.eos_token_id,
            )[0, len(ids) :].tolist()  # fmt: skip
            out.append((list(ids), gen))
    return out


def llamacpp_greedy(llm, prompt: list[int], max_new_tokens: int) -> list[int]:
    """llama.cpp's greedy tokens after `prompt` (its EOS included when reached)."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    llm.reset()
    tokens: list[int] = []
    for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
        tokens.append(token)
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(tokens) >= max_new_tokens:
            break
    return tokens


def agreement(folder: Path, gguf: Path, max_new_tokens: int = 32, prompts=CHECK_PROMPTS) -> dict:
    import numpy as np
    from llama_cpp import Llama

    pairs = transformers_greedy(folder, prompts, max_new_tokens)
    longest = max(len(p) + len(g) for p, g in pairs)
    llm = Llama(model_path=str(gguf), n_ctx=longest + 8, logits_all=True, verbose=False, seed=0)
    equal = agree = positions = 0
    for prompt, gen in pairs:
        equal += llamacpp_greedy(llm, prompt, max_new_tokens) == gen
        llm.reset()
        llm.eval(prompt + gen)
        top1 = np.asarray(llm.scores[len(prompt) - 1 : len(prompt) + len(gen) - 1]).argmax(-1)
        agree += int((top1 == np.asarray(gen)).sum())
        positions += len(gen)
    return {
        "prompts": len(pairs),
        "greedy_equal": equal,
        "top1_agreement": round(agree / max(positions, 1), 4),
        "positions": positions,
    }
