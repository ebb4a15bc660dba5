"""The official `openai` client against a real `notus serve` process on 127.0.0.1 (streaming and not),
on the tiny model with an API key. The embedded model's test is in test_serve_embedded.py."""

from __future__ import annotations

import openai
import pytest

from notus.serve.process import ServerProcess

KEY = "sk-notus-test"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir, tmp_path_factory):
    args = ["--threads", "1", "--api-key", KEY, "--served-model-name", "tiny", "--log-level", "warning"]
    with ServerProcess(
        str(tiny_model_dir), args, log_path=tmp_path_factory.mktemp("serve") / "server.log"
    ) as server:
        yield server
    assert not server.alive()


@pytest.fixture()
def client(tiny_server):
    return openai.OpenAI(base_url=f"{tiny_server.base_url}/v1", api_key=KEY, max_retries=0, timeout=60)


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["tiny"]


def test_non_streaming(client):
    out = client.chat.completions.create(model="tiny", messages=QUESTION, max_tokens=6, temperature=0, seed=1)
    assert out.choices[0].finish_reason == "length" and out.choices[0].message.role == "assistant"
    assert out.usage.completion_tokens == 6 and out.usage.prompt_tokens > 10


def test_streaming_matches_non_streaming(client):
    kwargs = dict(model="tiny", messages=QUESTION, max_tokens=8, temperature=0.8, top_p=0.9, seed=7)
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    stream = client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole and len(chunks) > 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 8


def test_stop_sequence(client):
    kwargs = dict(model="tiny", messages=QUESTION, max_tokens=20, temperature=1.0, seed=3)
    full = client.chat.completions.create(**kwargs).choices[0].message.content
    stop = full[8:11]
    cut = client.chat.completions.create(**kwargs, stop=[stop]).choices[0]
    assert cut.message.content == full[: full.index(stop)] and cut.finish_reason == "stop"


def test_errors_are_raised_as_openai_exceptions(client, tiny_server):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{tiny_server.base_url}/v1", api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="tiny", messages=QUESTION, max_tokens=-3)
