"""AlpacaEval pairwise judging: alpaca_eval's judge prompts, per-instruction random output order, parsers.

    rows = annotate(judge, instructions, reference_outputs, model_outputs, "alpaca_eval_v2", seed=0)

Prompts (package data `templates/alpaca_eval_v1.txt`, `alpaca_eval_v2.txt`, alpaca_eval's chat-ML
format; `{instruction}`, `{output_1}`, `{output_2}` are replaced literally):
- `alpaca_eval_v1` (annotator `alpaca_eval_gpt4`, AlpacaEval 1): the judge returns a Python list of
  ranks; preference = rank of the first output shown (1 or 2). Temperature 0, 100 tokens.
- `alpaca_eval_v2` (annotator `weighted_alpaca_eval_gpt4_turbo`, AlpacaEval 2): one token, `m` (first
  output) or `M` (second), weighted by the judge's log-probs: preference = 2 - P(m) / (P(m) + P(M)).
  A judge that returns no log-probs gives 1 or 2 from the token it wrote (exactly `m` or `M`).
The reference is shown first or second at random per instruction (seeded by `seed` and the
instruction); the preference is mapped back so 1 always means the reference won. Any verdict that
cannot be parsed gives preference None: counted as unparsed, never as a loss.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from notus.llm.contract import Completion, GenerationParams


@dataclass(frozen=True)
class JudgeConfig:
    template: str
    annotator: str
    params: GenerationParams


CONFIGS = {
    "alpaca_eval_v1": JudgeConfig(
        "alpaca_eval_v1.txt", "alpaca_eval_gpt4", GenerationParams(max_new_tokens=100, temperature=0.0)
    ),
    "alpaca_eval_v2": JudgeConfig(
        "alpaca_eval_v2.txt",
        "weighted_alpaca_eval_gpt4_turbo",
        GenerationParams(max_new_tokens=1, temperature=1.0, logprobs=True),
    ),
}


def chatml_to_messages(text: str) -> list[dict[str, str]]:
    """alpaca_eval's chat-ML prompt (`<|im_start|>role\\ncontent\\n<|im_end|>`) as chat messages."""
    messages = []
    for block in text.strip().split("<|im_start|>")[1:]:
        role, _, rest = block.partition("\n")
        messages.append({"role": role.strip(), "content": rest.split("<|im_end|>", 1)[0].strip()})
    return messages


def render(prompt: str, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]:
    template = resources.files("notus.eval").joinpath("templates", CONFIGS[prompt].template).read_text()
    values = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
    # one pass, so braces inside an output are never substituted again
    return chatml_to_messages(
        re.sub(r"\{(instruction|output_1|output_2)\}", lambda m: values[m.group(1)], template)
    )


def parse_ranking(text: str) -> float | None:
    """AlpacaEval 1: the rank given to `model_1` (1 = first shown output wins); None if unparsable."""
    try:
        ranking = ast.literal_eval(text.strip())
        rank = next(int(r["rank"]) for r in ranking if r["model"] == "model_1")
    except (ValueError, SyntaxError, TypeError, KeyError, StopIteration, MemoryError, RecursionError):
        return None
    return float(rank) if rank in (1, 2) else None


def _is_logprob(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and -math.inf < value <= 0


def parse_logprob(completion: Completion) -> float | None:
    """AlpacaEval 2: 2 - P(m) / (P(m) + P(M)) from the first token's top log-probs (None if neither)."""
    if completion.logprobs:
        mass = {"m": 0.0, "M": 0.0}
        for top in completion.logprobs[0].get("top_logprobs") or []:
            logprob = top.get("logprob")
            if top.get("token") in mass and _is_logprob(logprob):  # a server's NaN/inf/text is no evidence
                mass[top["token"]] += math.exp(logprob)
        total = mass["m"] + mass["M"]
        return 2 - mass["m"] / total if total > 0 else None
    return {"m": 1.0, "M": 2.0}.get(completion.text.strip())


def is_swapped(seed: int, instruction: str) -> bool:
    return random.Random(f"{seed}\x00{instruction}").random() < 0.5


def annotate(
    judge: Any,
    instructions: list[dict],
    reference: list[dict],
    model: list[dict],
    prompt: str = "alpaca_eval_v2",
    seed: int = 0,
    max_tokens: int | None = None,
) -> list[dict[str, Any]]:
    """alpaca_eval annotation rows (output_1 = reference, output_2 = model; preference 1 = reference)."""
    config = CONFIGS[prompt]
    params = config.params if max_tokens is None else replace(config.params, max_new_tokens=max_tokens)
    conversations, swaps = [], []
    for item, ref, out in zip(instructions, reference, model, strict=True):
        swap = is_swapped(seed, item["instruction"])
        first, second = (out["output"], ref["output"]) if swap else (ref["output"], out["output"])
        conversations.append(render(prompt, item["instruction"], first, second))
        swaps.append(swap)
    completions = judge.generate(conversations, params)
    rows = []
    for item, ref, out, swap, completion in zip(
        instructions, reference, model, swaps, completions, strict=True
    ):
        shown = parse_ranking(completion.text) if prompt == "alpaca_eval_v1" else parse_logprob(completion)
        preference = None if shown is None else (3 - shown if swap else shown)
        rows.append(
            {
                "instruction": item["instruction"],
                "output_1": ref["output"],
                "generator_1": ref.get("generator", "reference"),
                "dataset": item.get("dataset", ""),
                "output_2": out["output"],
                "generator_2": out.get("generator", "model"),
                "annotator": config.annotator,
                "preference": preference,
                "raw_completion": {"text": completion.text, "logprobs": completion.logprobs, "swapped": swap},
            }
        )
    return rows
