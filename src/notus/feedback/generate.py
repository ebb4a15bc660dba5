"""Generate N completions per prompt from one or several models under UltraFeedback principles.

    notus feedback generate prompts.jsonl -o generated.jsonl --model smollm2-135m-instruct \
        --backend llamacpp --principles helpfulness,honesty,truthfulness,verbalized_calibration --n 4

Completion j of a prompt comes from model j mod len(models) steered by principle
j mod len(principles), whose system prompt is picked reproducibly from `templates/principles.yaml`
(UltraFeedback sampled one principle per completion; cycling keeps every principle represented).
Rows are written in the raw openbmb/UltraFeedback schema, with empty ratings for `notus feedback
rate` to fill. Each finished prompt is appended at once; every request goes through the cache.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from notus.core.errors import NotusError
from notus.core.types import PRINCIPLES
from notus.data import numbers
from notus.feedback.prompts import principle_system_prompt
from notus.feedback.store import ResumableOutput
from notus.llm.contract import GenerationParams, Model

NEEDS = ("instruction",)
PRODUCES = ("source", "instruction", "models", "completions[].model", "completions[].principle",
            "completions[].custom_system_prompt", "completions[].response")  # fmt: skip


@dataclass
class GenerateConfig:
    models: list[str] = field(default_factory=lambda: ["smollm2-135m-instruct"])
    principles: list[str] = field(default_factory=lambda: list(PRINCIPLES))
    n: int = 4
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 42
    batch_prompts: int = 4  # prompts whose requests go to the model together

    def check(self) -> list[str]:
        problems = [
            f"principles: {p!r} is not one of {', '.join(PRINCIPLES)}"
            for p in self.principles
            if p not in PRINCIPLES
        ]
        if not self.models:
            problems.append("models: give at least one model")
        return problems + numbers.problems(
            numbers.in_range("n", self.n, 1, integer=True),
            numbers.in_range("max_new_tokens", self.max_new_tokens, 1, integer=True),
            numbers.in_range("batch_prompts", self.batch_prompts, 1, integer=True),
            numbers.in_range("temperature", self.temperature, 0),
            numbers.in_range("top_p", self.top_p, 0, 1, low_open=True),
            numbers.in_range("seed", self.seed, 0, integer=True),
        )


def empty_completion(model: str, principle: str, system_prompt: str, response: str) -> dict[str, Any]:
    """A completion in the raw UltraFeedback schema, before rating."""
    return {
        "model": model,
        "principle": principle,
        "custom_system_prompt": system_prompt,
        "response": response,
        "annotations": {},
        "critique": "",
        "overall_score": None,
        "fine-grained_score": None,
    }


def plan(config: GenerateConfig, prompt_index: int) -> list[tuple[str, str, str]]:
    """(model, principle, system prompt) for each of the n completions of one prompt."""
    out = []
    for j in range(config.n):
        principle = config.principles[j % len(config.principles)]
        system = principle_system_prompt(principle, prompt_index, j, config.seed)
        out.append((config.models[j % len(config.models)], principle, system))
    return out


def generate(
    prompts: list[dict[str, Any]],
    models: dict[str, Model],
    config: GenerateConfig,
    output: str,
    indices: list[int] | None = None,
    progress: bool = True,
) -> int:
    """Append one raw-schema row per prompt to `output` (resuming it); returns the rows written now.

    `models` maps each name in `config.models` to a (cached) model; `indices` are the prompts'
    positions in the full input (for sharded workers), which seed the choice of system prompts.
    """
    problems = config.check()
    if problems:
        raise NotusError("; ".join(problems))
    indices = indices if indices is not None else list(range(len(prompts)))
    out = ResumableOutput(output, {"step": "generate", **asdict(config)}, [p["instruction"] for p in prompts])
    todo = list(out.todo())
    written = 0
    bar = tqdm(total=len(prompts), initial=out.done, desc="generate", unit="prompt", disable=not progress)
    for start in range(0, len(todo), config.batch_prompts):
        chunk = todo[start : start + config.batch_prompts]
        plans = {i: plan(config, indices[i]) for i in chunk}
        responses: dict[tuple[int, int], str] = {}
        for j in range(config.n):  # completion j shares its seed across prompts: one batch per model
            params = GenerationParams(
                max_new_tokens=config.max_new_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=config.seed + j,
            )
            for name in dict.fromkeys(plans[i][j][0] for i in chunk):
                batch = [i for i in chunk if plans[i][j][0] == name]
                conversations = [
                    [
                        {"role": "system", "content": plans[i][j][2]},
                        {"role": "user", "content": prompts[i]["instruction"]},
                    ]
                    for i in batch
                ]
                for i, completion in zip(batch, models[name].generate(conversations, params), strict=True):
                    responses[i, j] = completion.text
        for i in chunk:
            row = dict(prompts[i])
            row["models"] = [m for m, _, _ in plans[i]]
            row["completions"] = [
                empty_completion(m, p, s, responses[i, j]) for j, (m, p, s) in enumerate(plans[i])
            ]
            out.append({k: row[k] for k in ("source", "instruction", "models", "completions", "correct_answers",
                                            "incorrect_answers")})  # fmt: skip
            written += 1
            bar.update(1)
    bar.close()
    out.close()
    return written
