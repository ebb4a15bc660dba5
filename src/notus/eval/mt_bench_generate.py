"""Two-turn MT-Bench answers in FastChat's model_answer format, through the model contract.

    answers = generate_answers(load_model("smollm2-135m-instruct"), questions, "smollm2", max_new_tokens=1024)

As FastChat's gen_model_answer: turn 1 is the first question alone, turn 2 sees turn 1's question and
the model's own answer; each category samples at its temperature (`TEMPERATURE_BY_CATEGORY`, greedy
at 0); at most 1024 new tokens per turn by default. Questions sharing a temperature are batched.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tqdm import tqdm

from notus.eval.mt_bench import DEFAULT_TEMPERATURE, TEMPERATURE_BY_CATEGORY
from notus.llm.contract import GenerationParams, Model


def temperature_for(question: dict[str, Any]) -> float:
    return TEMPERATURE_BY_CATEGORY.get(question["category"], DEFAULT_TEMPERATURE)


def generate_answers(
    model: Model, questions: list[dict], model_id: str, max_new_tokens: int = 1024, seed: int = 0
) -> list[dict[str, Any]]:
    """FastChat model_answer rows (`question_id, answer_id, model_id, choices[{index, turns}], tstamp`)."""
    conversations: dict[Any, list[dict[str, str]]] = {q["question_id"]: [] for q in questions}
    answers: dict[Any, list[str]] = {q["question_id"]: [] for q in questions}
    n_turns = max(len(q["turns"]) for q in questions) if questions else 0
    progress = tqdm(total=sum(len(q["turns"]) for q in questions), desc="MT-Bench answers", leave=False)
    for turn in range(n_turns):
        groups: dict[float, list[dict]] = {}
        for q in questions:
            if turn < len(q["turns"]):
                groups.setdefault(temperature_for(q), []).append(q)
        for temperature, group in groups.items():
            for q in group:
                conversations[q["question_id"]].append({"role": "user", "content": q["turns"][turn]})
            params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
            outs = model.generate([conversations[q["question_id"]] for q in group], params)
            for q, out in zip(group, outs, strict=True):
                text = out.text.strip()
                conversations[q["question_id"]].append({"role": "assistant", "content": text})
                answers[q["question_id"]].append(text)
            progress.update(len(group))
    progress.close()
    return [
        {
            "question_id": q["question_id"],
            "answer_id": uuid.uuid4().hex[:22],
            "model_id": model_id,
            "choices": [{"index": 0, "turns": answers[q["question_id"]]}],
            "tstamp": time.time(),
        }
        for q in questions
    ]
