"""The llama.cpp serving engine on the embedded GGUF (SmolLM2-135M Q4_1): tokens stream one by one,
concurrent requests share one llama_decode per step and answer (nearly always) as they would alone,
alone, as llama-cpp-python's own chat completion does, per-request stops / seeds / penalties, usage counts,
limits."""

from __future__ import annotations

import threading
import time

import pytest
from test_serve_engine import PROMPTS, ask, ask_concurrently

from notus.serve.engine import PromptTooLongError, SamplingParams
from notus.serve.limits import ServeLimits
from notus.serve.llamacpp_engine import LlamaCppEngine


def close_answers(batched: list[str], alone: list[str]) -> bool:
    """Half or more identical, and every one the same for its first 10 characters."""
    same = sum(b == a for b, a in zip(batched, alone))
    return 2 * same >= len(alone) and all(b[:10] == a[:10] for b, a in zip(batched, alone))


@pytest.fixture(scope="module")
def engine():
    engine = LlamaCppEngine("smollm2-135m-instruct", "smollm2", ServeLimits(max_batch_size=4, max_prompt_tokens=200), n_threads=1)  # fmt: skip
    yield engine
    engine.close()


def test_greedy_answers_stream_and_match_llama_cpp_python(engine):
    text, done, chunks = ask(engine, PROMPTS[0], SamplingParams(max_new_tokens=24))
    assert chunks >= 5  # streamed token by token, not one chunk per answer
    reference = engine.llm.create_chat_completion(
        [{"role": "user", "content": PROMPTS[0]}], max_tokens=24, temperature=0.0
    )
    assert text == reference["choices"][0]["message"]["content"]
    assert done.prompt_tokens == reference["usage"]["prompt_tokens"]
    assert done.completion_tokens == reference["usage"]["completion_tokens"]


def test_concurrent_requests_are_decoded_together_and_answer_as_alone(engine):
    params = SamplingParams(max_new_tokens=20)
    alone = [ask(engine, p, params)[0] for p in PROMPTS]
    seen = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(engine.stats()["running"])
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    together = ask_concurrently(engine, PROMPTS, params, [0.0, 0.0, 0.05, 0.1])
    stop.set()
    watcher.join()
    assert max(seen) >= 3  # rows decoded in the same llama_decode step
    # Rows decoded together go through llama.cpp's batched matmul kernels, whose float sums are ordered
    # differently from one row's: a near-tie can flip a later greedy token (as in any batched engine).
    texts = [t for t, _, _ in together]
    assert close_answers(texts, alone)
    assert engine.stats() == {"waiting": 0, "running": 0} and sorted(engine.free_seqs) == [0, 1, 2, 3]
    prompt = engine._make_job([{"role": "user", "content": "Hello"}], params, lambda e: None).prompt
    assert (
        engine._best_sequence(prompt)[1] >= 15
    )  # the system prompt's keys/values are reused, not recomputed


def test_stop_strings_length_and_usage(engine):
    prompt = "Count from 1 to 20, one number per line."
    full = ask(engine, prompt, SamplingParams(max_new_tokens=30))[0]
    assert "\n" in full.strip()
    text, done, _ = ask(engine, prompt, SamplingParams(max_new_tokens=30, stop=["\n"]))
    assert text == full[: full.index("\n")] and done.finish_reason == "stop"
    text, done, _ = ask(engine, PROMPTS[1], SamplingParams(max_new_tokens=5))
    assert done.finish_reason == "length" and done.completion_tokens == 5 and text


def test_seeds_make_sampling_reproducible(engine):
    params = SamplingParams(max_new_tokens=16, temperature=1.2, top_p=0.95, seed=7)
    first = ask(engine, PROMPTS[3], params)[0]
    assert ask(engine, PROMPTS[3], params)[0] == first
    others = {
        ask(engine, PROMPTS[3], SamplingParams(max_new_tokens=16, temperature=1.2, seed=s))[0]
        for s in range(4)
    }
    assert len(others) > 1


def test_frequency_penalty_breaks_repetition(engine):
    def most_repeated(params: SamplingParams) -> int:
        job = engine.submit(
            [{"role": "user", "content": "List the numbers 1 1 1 1 1 1 1 1 1 1"}], params, lambda e: None
        )
        while job.finish is None and not job.cancelled:
            time.sleep(0.01)
        return max(job.ids.count(t) for t in set(job.ids))

    plain = most_repeated(SamplingParams(max_new_tokens=24))
    penalised = most_repeated(SamplingParams(max_new_tokens=24, frequency_penalty=2.0, presence_penalty=0.5))
    assert plain >= 6 and penalised < plain


def test_too_long_prompt_is_refused(engine):
    with pytest.raises(PromptTooLongError, match="at most 200"):
        engine.submit([{"role": "user", "content": "word " * 400}], SamplingParams(), lambda e: None)


def test_the_model_contract_generates_through_the_engine():
    """`notus feedback` / `notus eval` call `generate`: batched on the engine, same answers as one by one."""
    from notus.llm.contract import GenerationParams, load_model

    model = load_model("smollm2-135m-instruct", backend="llamacpp", n_threads=1, n_ctx=512)
    conversations = [[{"role": "user", "content": p}] for p in PROMPTS]
    params = GenerationParams(max_new_tokens=16)
    batched = model.generate(conversations, params)
    assert model._engine is not None and model._engine.llm is model.llm  # one model in memory
    one_by_one = [model._one(c, params) for c in conversations]
    assert close_answers([c.text for c in batched], [c.text for c in one_by_one])
    assert [c.prompt_tokens for c in batched] == [c.prompt_tokens for c in one_by_one]
    for b, o in zip(
        batched, one_by_one
    ):  # notus counts the EOS token as sampled (as the transformers engine)
        if b.text == o.text:
            assert b.finish_reason == o.finish_reason
            assert b.completion_tokens == o.completion_tokens + (o.finish_reason == "stop")
    model._engine.close()


def test_json_schema_output_is_batched_and_follows_the_schema():
    """Structured output (feedback ratings) runs on the batching engine through a llama.cpp grammar sampler:
    every answer parses and follows the schema, as llama-cpp-python's one-at-a-time completion does."""
    import json

    from notus.llm.contract import GenerationParams, load_model

    schema = {
        "type": "object",
        "properties": {
            "rating": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
            "rationale": {"type": "string"},
        },
        "required": ["rating", "rationale"],
    }
    model = load_model(
        "smollm2-135m-instruct", backend="llamacpp", n_threads=1, n_ctx=512, json_schema=schema
    )
    conversations = [
        [{"role": "user", "content": f"Rate this answer from 1 to 5 as JSON: {p}"}] for p in PROMPTS
    ]
    params = GenerationParams(max_new_tokens=48)
    batched = model.generate(conversations, params)
    assert model._engine is not None and model._engine.grammars  # the engine ran it, with a grammar
    one_by_one = [model._one(c, params) for c in conversations]
    for answer in [c for c in batched if c.finish_reason == "stop"]:
        parsed = json.loads(answer.text, strict=False)  # llama.cpp's JSON strings may hold raw newlines
        assert parsed["rating"] in {1, 2, 3, 4, 5} and isinstance(parsed["rationale"], str)
    assert any(c.finish_reason == "stop" for c in batched)
    assert close_answers([c.text for c in batched], [c.text for c in one_by_one])
    model._engine.close()


def test_a_grammar_llama_cpp_cannot_parse_is_refused(engine):
    from notus.serve.engine import InvalidPromptError
    from notus.serve.llamacpp_engine import GrammarParams

    with pytest.raises(InvalidPromptError, match="grammar"):
        engine.submit(
            PROMPTS[:1] and [{"role": "user", "content": "hi"}],
            GrammarParams(grammar="root ::= ("),
            lambda e: None,
        )


def test_a_job_cancelled_in_the_queue_never_gets_a_sampler(engine):
    job = engine._make_job(
        [{"role": "user", "content": "hi"}], SamplingParams(max_new_tokens=4), lambda e: None
    )
    assert job.generator is None  # made at admission, so a queued cancel leaks nothing
