"""A real `notus serve` process on 127.0.0.1 (API key set), shared by the module, on each engine: the
transformers one (tiny model) and the llama.cpp one (the embedded model's GGUF, `--backend llamacpp`):
- the official `openai` client, streaming and not (the embedded model's is in test_serve_embedded.py);
- load: 8 concurrent streaming clients x 50 requests while a ninth client sends 50 malformed requests.
  No crash, no 5xx, the right error codes, and every loop is bounded (fixed counts, timeouts)."""

from __future__ import annotations

import json
import threading

import httpx
import openai
import pytest

from notus.serve.process import ServerProcess

KEY = "sk-notus-test"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
CLIENTS, REQUESTS_PER_CLIENT = 8, 50
TIMEOUT = httpx.Timeout(60.0)


@pytest.fixture(scope="module", params=["transformers", "llamacpp"])
def tiny_server(request, tiny_model_dir, tmp_path_factory):
    args = ["--threads", "1", "--api-key", KEY, "--served-model-name", "tiny", "--log-level", "warning"]
    model = str(tiny_model_dir) if request.param == "transformers" else "smollm2-135m-instruct"
    args += ["--backend", request.param]
    with ServerProcess(model, args, log_path=tmp_path_factory.mktemp("serve") / "server.log") as server:
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


# ---- load and malformed requests ----


def chat(**overrides) -> dict:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 4}
    return {**body, **overrides}


# (description, body bytes, headers, expected status); 10 kinds x 5 = 50 malformed requests
MALFORMED = [
    ("bad JSON", b'{"model": "tiny", "messages": [', AUTH, 400),
    ("unknown model", json.dumps(chat(model="gpt-5")).encode(), AUTH, 404),
    ("negative max_tokens", json.dumps(chat(max_tokens=-5)).encode(), AUTH, 422),
    (
        "1 MB prompt",
        json.dumps(chat(messages=[{"role": "user", "content": "x" * 1_000_000}])).encode(),
        AUTH,
        413,
    ),
    ("wrong key", json.dumps(chat()).encode(), {**AUTH, "Authorization": "Bearer wrong"}, 401),
    ("no key", json.dumps(chat()).encode(), {"Content-Type": "application/json"}, 401),
    ("missing messages", json.dumps({"model": "tiny"}).encode(), AUTH, 422),
    ("messages not a list", json.dumps(chat(messages="hello")).encode(), AUTH, 422),
    ("temperature out of range", json.dumps(chat(temperature=-1)).encode(), AUTH, 422),
    ("JSON array body", b"[]", AUTH, 400),
] * 5


def stream_once(client: httpx.Client, url: str, i: int) -> tuple[int, str | None, bool]:
    """One streaming request: (status, finish_reason, saw [DONE])."""
    finish, done = None, False
    body = chat(stream=True, max_tokens=2 + i % 5, temperature=0.7, seed=i)
    with client.stream("POST", url, json=body, headers=AUTH) as response:
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                continue
            choices = json.loads(line[len("data: ") :])["choices"]
            finish = choices[0]["finish_reason"] if choices and choices[0].get("finish_reason") else finish
        return response.status_code, finish, done


def test_concurrent_streams_and_malformed_requests(tiny_server):
    server = tiny_server
    url = f"{server.base_url}/v1/chat/completions"
    results: list[tuple[int, str | None, bool]] = []
    malformed: list[tuple[str, int, int, dict]] = []
    crashes: list[BaseException] = []
    lock = threading.Lock()

    def streaming_client(c: int) -> None:
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                for r in range(REQUESTS_PER_CLIENT):
                    outcome = stream_once(client, url, c * REQUESTS_PER_CLIENT + r)
                    with lock:
                        results.append(outcome)
        except BaseException as exc:  # reported below, with the thread's exception
            crashes.append(exc)

    def malformed_client() -> None:
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                for what, body, headers, expected in MALFORMED:
                    response = client.post(url, content=body, headers=headers)
                    malformed.append((what, expected, response.status_code, response.json()))
        except BaseException as exc:
            crashes.append(exc)

    threads = [threading.Thread(target=streaming_client, args=(c,)) for c in range(CLIENTS)]
    threads.append(threading.Thread(target=malformed_client))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client loop did not finish in time"
    assert not crashes, crashes

    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT
    assert all(status == 200 for status, _, _ in results)
    assert all(done and finish in {"stop", "length"} for _, finish, done in results)
    assert len(malformed) == 50
    for what, expected, status, body in malformed:
        assert status == expected, (what, status, body)
        assert set(body["error"]) == {"message", "type", "param", "code"}, what

    health = httpx.get(f"{server.base_url}/health", timeout=10).json()
    assert server.alive() and health["status"] == "ok"
    assert health["running"] == 0 and health["waiting"] == 0
