"""The serving engines without HTTP: continuous batching matches plain generation, per-row stops and
sampling, cancellation, the bounded queue, and the model-contract fallback (a fake model)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from notus.llm.contract import Completion
from notus.serve.contract_engine import ContractEngine
from notus.serve.engine import (
    BatchingEngine,
    Failed,
    Finished,
    PromptTooLongError,
    QueueFullError,
    SamplingParams,
    TextDelta,
    _stop_prefix_len,
    load_engine,
)
from notus.serve.limits import ServeLimits

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "2+2=?",
    "Name three colors, please.",
]


def ask(engine, prompt: str, params: SamplingParams, delay: float = 0.0) -> tuple[str, Finished, int]:
    """Submit one request after `delay`; return the streamed text, the final event and the chunk count."""
    time.sleep(delay)
    events: queue.Queue = queue.Queue()
    engine.submit([{"role": "user", "content": prompt}], params, events.put)
    text, chunks = "", 0
    while True:
        event = events.get(timeout=120)
        if isinstance(event, TextDelta):
            text, chunks = text + event.text, chunks + 1
        else:
            assert not isinstance(event, Failed), event.message
            return text, event, chunks


def ask_concurrently(engine, prompts: list[str], params: SamplingParams, delays: list[float]) -> list:
    results: list = [None] * len(prompts)

    def run(i: int) -> None:
        results[i] = ask(engine, prompts[i], params, delays[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def reference_greedy(engine: BatchingEngine, prompt: str, max_new_tokens: int) -> str:
    """Plain transformers `generate`, one prompt at a time: what batching must reproduce."""
    import torch

    tok = engine.tokenizer
    text = tok.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = engine.model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
        )
    return tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir):
    engine = load_engine(str(tiny_model_dir), ServeLimits(max_batch_size=4, max_prompt_tokens=200))
    yield engine
    engine.close()


def test_stop_prefix_is_held_back():
    assert _stop_prefix_len("Hello wor", ["world"]) == 3
    assert _stop_prefix_len("Hello", ["xyz"]) == 0
    assert _stop_prefix_len("ab", ["abc", "b!"]) == 2


def test_batched_greedy_equals_one_at_a_time(tiny_engine):
    # Staggered arrivals: rows join a running batch (KV caches of different lengths merged) and leave it.
    params = SamplingParams(max_new_tokens=12, temperature=0.0)
    results = ask_concurrently(tiny_engine, PROMPTS * 2, params, [0, 0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.3])
    for prompt, (text, finished, _) in zip(PROMPTS * 2, results):
        assert text == reference_greedy(tiny_engine, prompt, 12)
        assert finished.finish_reason == "length" and finished.completion_tokens == 12


def test_sliding_window_model_batching_matches_generate(tiny_model_dir, tmp_path):
    # Mistral-style sliding-window attention (Zephyr-7B / Notus-7B): a window of 16 is exceeded here.
    import torch
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = MistralConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, sliding_window=16, max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    MistralForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    engine = load_engine(str(tmp_path), ServeLimits())
    try:
        assert isinstance(engine, BatchingEngine)
        params = SamplingParams(max_new_tokens=20, temperature=0.0)
        results = ask_concurrently(engine, PROMPTS, params, [0, 0, 0.05, 0.1])
        for prompt, (text, _, _) in zip(PROMPTS, results):
            assert text == reference_greedy(engine, prompt, 20)
    finally:
        engine.close()


def test_embedded_model_batching_matches_generate(embedded_model_dir):
    engine = load_engine(str(embedded_model_dir), ServeLimits(max_batch_size=8))
    try:
        params = SamplingParams(max_new_tokens=10, temperature=0.0)
        results = ask_concurrently(engine, PROMPTS[:3], params, [0, 0.2, 0.4])
        for prompt, (text, _, _) in zip(PROMPTS[:3], results):
            assert text == reference_greedy(engine, prompt, 10)
        assert "Paris" in results[0][0]
    finally:
        engine.close()


def test_tokens_are_streamed_and_usage_counted(tiny_engine):
    text, finished, chunks = ask(tiny_engine, "Hello", SamplingParams(max_new_tokens=16, temperature=0.0))
    assert chunks > 1 and text
    prompt_ids = tiny_engine.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], tokenize=False, add_generation_prompt=True
    )
    assert finished.prompt_tokens == len(
        tiny_engine.tokenizer(prompt_ids, add_special_tokens=False)["input_ids"]
    )


def test_stop_string_cuts_the_answer(tiny_engine):
    # Seeded sampling gives the same tokens twice (greedy on random weights only repeats newlines).
    full, _, _ = ask(tiny_engine, "Hello", SamplingParams(max_new_tokens=20, temperature=1.0, seed=3))
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert stop.strip(), full
    text, finished, _ = ask(
        tiny_engine, "Hello", SamplingParams(max_new_tokens=20, temperature=1.0, seed=3, stop=[stop])
    )
    assert text == full[: full.index(stop)]
    assert finished.finish_reason == "stop"


def test_seeded_sampling_is_reproducible_and_seeds_differ(tiny_engine):
    params = [SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=s) for s in (1, 1, 2)]
    texts = [ask(tiny_engine, "Tell me a story", p)[0] for p in params]
    assert texts[0] == texts[1] != texts[2]


def test_cancelled_job_leaves_the_batch(tiny_engine):
    events: queue.Queue = queue.Queue()
    job = tiny_engine.submit(
        [{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=2000), events.put
    )
    assert isinstance(events.get(timeout=60), TextDelta)
    job.cancel()
    deadline = time.monotonic() + 30
    while tiny_engine.stats()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tiny_engine.stats()["running"] == 0
    assert len(job.ids) < 2000


def test_prompt_longer_than_the_limit_is_refused(tiny_engine):
    with pytest.raises(PromptTooLongError, match="at most 200"):
        tiny_engine.submit([{"role": "user", "content": "word " * 500}], SamplingParams(), lambda e: None)


class BlockingModel:
    """A model-contract fake whose generate() waits for a signal; records the batches it was given."""

    name = "fake"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[int] = []

    def generate(self, conversations, params):
        self.release.wait(30)
        self.calls.append(len(conversations))
        return [Completion(f"echo: {c[-1]['content']}", 3, 2, "stop") for c in conversations]


def test_contract_engine_streams_one_chunk_and_bounds_its_queue():
    model = BlockingModel()
    engine = ContractEngine(model, "fake", ServeLimits(max_batch_size=1, max_queue=1))
    try:
        first: queue.Queue = queue.Queue()
        engine.submit([{"role": "user", "content": "a"}], SamplingParams(), first.put)
        deadline = time.monotonic() + 10
        while engine.stats()["waiting"] and time.monotonic() < deadline:  # the worker takes the first job
            time.sleep(0.01)
        second: queue.Queue = queue.Queue()
        engine.submit([{"role": "user", "content": "b"}], SamplingParams(), second.put)
        with pytest.raises(QueueFullError, match="--max-queue 1"):
            engine.submit([{"role": "user", "content": "c"}], SamplingParams(), lambda e: None)
        model.release.set()
        assert first.get(timeout=10) == TextDelta("echo: a")
        assert first.get(timeout=10) == Finished("stop", 3, 2)
        assert second.get(timeout=10) == TextDelta("echo: b")
    finally:
        model.release.set()
        engine.close()


def test_closing_fails_waiting_requests_instead_of_leaving_them_hanging():
    model = BlockingModel()
    engine = ContractEngine(model, "fake", ServeLimits(max_batch_size=1, max_queue=4))
    engine.submit([{"role": "user", "content": "a"}], SamplingParams(), lambda e: None)
    deadline = time.monotonic() + 10
    while engine.stats()["waiting"] and time.monotonic() < deadline:
        time.sleep(0.01)
    waiting: queue.Queue = queue.Queue()
    engine.submit([{"role": "user", "content": "b"}], SamplingParams(), waiting.put)
    closer = threading.Thread(target=engine.close)
    closer.start()
    assert waiting.get(timeout=10) == Failed("the server is shutting down")
    model.release.set()
    closer.join(timeout=30)
    with pytest.raises(QueueFullError, match="shutting down"):
        engine.submit([{"role": "user", "content": "c"}], SamplingParams(), lambda e: None)


def test_frequency_penalty_breaks_repetition(tiny_engine):
    def most_repeated(params: SamplingParams) -> int:
        events: queue.Queue = queue.Queue()
        job = tiny_engine.submit([{"role": "user", "content": "Hello"}], params, events.put)
        while not isinstance(events.get(timeout=60), Finished):
            pass
        return max(job.ids.count(t) for t in set(job.ids))

    plain = most_repeated(SamplingParams(max_new_tokens=24, temperature=0.0))
    penalized = most_repeated(SamplingParams(max_new_tokens=24, temperature=0.0, frequency_penalty=2.0))
    assert plain > 12 and penalized < plain  # greedy on random weights repeats one token
