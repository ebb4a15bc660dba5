"""A llama.cpp critic is constrained by `critique_grammar`: even the embedded 135M judge then ends every
critique with a parseable `Overall score: X` (the zephyr strategy ranks by it), within its token budget."""

from __future__ import annotations

from notus.feedback.parse import parse_critique
from notus.feedback.prompts import critique_conversation, critique_grammar
from notus.llm.cache import CachedModel
from notus.llm.contract import GenerationParams, load_model

PAIRS = [
    ("What is 2+2?", "4"),
    ("Name a primary color.", "Green, obviously."),
    (
        "Write a haiku about rain.",
        "Rain falls on the roof / soft drums in the quiet night / the garden drinks deep",
    ),
    ("What is the capital of France?", "Berlin"),
]


def test_every_constrained_critique_states_a_score(tmp_path):
    critic = load_model("smollm2-135m-instruct", backend="llamacpp", n_threads=1, n_ctx=1024, grammar=critique_grammar(120))  # fmt: skip
    conversations = [critique_conversation(q, a) for q, a in PAIRS]
    answers = critic.generate(conversations, GenerationParams(max_new_tokens=48))
    for answer in answers:
        critique = parse_critique(answer.text)
        assert critique.status == "ok" and 1 <= critique.score <= 10, answer.text
        assert critique.feedback and "\n" not in critique.feedback and len(critique.feedback) <= 120

    cached = CachedModel(
        critic, tmp_path / "cache.sqlite"
    )  # a constrained model's answers have their own keys
    free = CachedModel(load_model("smollm2-135m-instruct", backend="llamacpp", n_threads=1, n_ctx=1024), tmp_path / "cache.sqlite")  # fmt: skip
    assert cached.key_name != free.key_name and cached.name == free.name
    critic._engine.close()
