"""HTTP layer in process (Starlette TestClient) on the tiny model: response shapes, SSE framing, every
error code with OpenAI's error body, the API key, and static files without path traversal."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from notus.serve.app import create_app
from notus.serve.contract_engine import ContractEngine
from notus.serve.engine import SamplingParams, load_engine
from notus.serve.limits import ServeLimits

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
LOCAL = "http://localhost"  # the server answers only its bound names (Host check against DNS rebinding)
LIMITS = ServeLimits(max_prompt_tokens=300, max_completion_tokens=64, max_body_bytes=20_000)


@pytest.fixture(scope="module")
def client(tiny_model_dir):
    engine = load_engine(str(tiny_model_dir), LIMITS, model_id="tiny")
    with TestClient(create_app(engine, api_key=KEY), base_url=LOCAL) as test_client:
        yield test_client


def chat(**overrides) -> dict:
    body = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 5,
        "temperature": 0,
    }
    return {**body, **overrides}


def assert_error(response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if param is not None:
        assert error["param"] == param
    return error


def test_health_and_models(client):
    assert client.get("/health").json()["status"] == "ok"  # no key needed for health checks
    models = client.get("/v1/models", headers=AUTH).json()
    assert [m["id"] for m in models["data"]] == ["tiny"] and models["object"] == "list"
    assert client.get("/v1/models/tiny", headers=AUTH).json()["id"] == "tiny"
    assert_error(client.get("/v1/models/other", headers=AUTH), 404, "model")


def test_non_streaming_completion(client):
    body = client.post("/v1/chat/completions", json=chat(), headers=AUTH).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "length"
    usage = body["usage"]
    assert usage["completion_tokens"] == 5 and usage["total_tokens"] == usage["prompt_tokens"] + 5


def test_streaming_completion_is_sse(client):
    with client.stream("POST", "/v1/chat/completions", json=chat(stream=True, stream_options={"include_usage": True}),
                       headers=AUTH) as response:  # fmt: skip
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    whole = client.post("/v1/chat/completions", json=chat(), headers=AUTH).json()
    assert streamed == whole["choices"][0]["message"]["content"]


def test_api_key(client):
    assert_error(client.post("/v1/chat/completions", json=chat()), 401)
    assert_error(
        client.post("/v1/chat/completions", json=chat(), headers={"Authorization": "Bearer nope"}), 401
    )
    assert_error(client.get("/v1/models"), 401)


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b"", 400, None),
        (json.dumps(chat(model="gpt-4")).encode(), 404, "model"),
        (json.dumps(chat(max_tokens=-1)).encode(), 422, "max_tokens"),
        (json.dumps(chat(max_tokens=10_000)).encode(), 422, "max_tokens"),
        (json.dumps({"model": "tiny"}).encode(), 422, "messages"),
        (json.dumps(chat(messages=[])).encode(), 422, "messages"),
        (json.dumps(chat(messages=[{"role": "wizard", "content": "x"}])).encode(), 422, None),
        (json.dumps(chat(temperature=3)).encode(), 422, "temperature"),
        (json.dumps(chat(n=2)).encode(), 422, "n"),
        (json.dumps(chat(stop=["a", "b", "c", "d", "e"])).encode(), 422, "stop"),
        (json.dumps(chat(tools=[{"type": "function"}])).encode(), 422, None),
        (json.dumps(chat(messages=[{"role": "assistant", "content": "x"}])).encode(), 422, None),
        (json.dumps(chat(messages=[{"role": "user", "content": "x" * 30_000}])).encode(), 413, None),
        (json.dumps(chat(messages=[{"role": "user", "content": "word " * 1000}])).encode(), 413, "messages"),
    ],
)
def test_bad_requests_get_openai_errors(client, body, status, param):
    response = client.post(
        "/v1/chat/completions", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert_error(response, status, param)


def test_unknown_paths_and_methods(client):
    assert_error(client.get("/v1/nothing"), 404)
    assert client.get("/v1/chat/completions").status_code == 405


def test_static_files_and_no_traversal(client):
    page = client.get("/")
    assert page.status_code == 200 and "notus" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "markdown.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for path in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/schema.py", "/static/..%5capp.py",
                 "/static//etc/passwd", "/static/../../../../etc/passwd", "/static/index.html%00.py"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "import" not in response.text


class SlowModel:
    name = "slow"

    def __init__(self) -> None:
        self.release = threading.Event()

    def generate(self, conversations, params):
        from notus.llm.contract import Completion

        self.release.wait(30)
        return [Completion("ok", 1, 1) for _ in conversations]


def test_full_queue_gets_429():
    model = SlowModel()
    engine = ContractEngine(model, "slow", ServeLimits(max_batch_size=1, max_queue=1))
    with TestClient(create_app(engine), base_url=LOCAL) as client:
        engine.submit(
            [{"role": "user", "content": "a"}], SamplingParams(), lambda e: None
        )  # taken by the worker
        deadline = time.monotonic() + 10
        while engine.stats()["waiting"] and time.monotonic() < deadline:
            time.sleep(0.01)
        engine.submit([{"role": "user", "content": "b"}], SamplingParams(), lambda e: None)  # fills the queue
        response = client.post("/v1/chat/completions", json=chat(model="slow"))
        assert_error(response, 429)
        assert response.headers["retry-after"] == "1"
        model.release.set()


def test_request_shaped_like_hugging_face_chat_ui(client):
    # chat-ui sends an (often empty) system preprompt, repetition_penalty as frequency_penalty, and
    # leaves unset parameters out or null; the model id is the one from its MODELS config.
    body = {
        "model": "tiny",
        "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hello"}],
        "stream": True,
        "max_tokens": 6,
        "stop": [],
        "temperature": None,
        "top_p": 0.95,
        "frequency_penalty": 1.2,
        "presence_penalty": None,
    }
    with client.stream("POST", "/v1/chat/completions", json=body, headers=AUTH) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["choices"][0]["finish_reason"] == "length"


class BrokenModel:
    name = "broken"

    def generate(self, conversations, params):
        raise RuntimeError("out of memory")


def test_a_failing_model_is_a_server_error_not_a_hang():
    engine = ContractEngine(BrokenModel(), "broken", ServeLimits())
    with TestClient(create_app(engine), base_url=LOCAL) as client:
        error = assert_error(client.post("/v1/chat/completions", json=chat(model="broken")), 500)
        assert "out of memory" in error["message"] and error["type"] == "server_error"
        with client.stream(
            "POST", "/v1/chat/completions", json=chat(model="broken", stream=True)
        ) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert (
            "out of memory" in json.loads(lines[-2][6:])["error"]["message"] and lines[-1] == "data: [DONE]"
        )
