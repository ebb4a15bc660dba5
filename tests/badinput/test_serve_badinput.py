"""Bad client input to `notus serve`, in process on the tiny random-weight model (no API key: the case
a DNS-rebinding page or a cross-origin form would target).

Every case states its status: 2xx, or an OpenAI-style 4xx with `{"error": {message, type, param, code}}`;
never a 5xx. Further checks: a bad request in the same batch as good ones does not change their answers;
a non-streaming client that disconnects frees its batch row; a connection that sends its headers too
slowly is closed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
from _evalserve_helpers import run_notus
from fastapi.testclient import TestClient

from notus.serve.app import create_app
from notus.serve.contract_engine import ContractEngine
from notus.serve.engine import load_engine
from notus.serve.guard import header_timeout_protocol
from notus.serve.limits import ServeLimits
from notus.serve.process import free_port

LOCAL = "http://localhost"
LIMITS = ServeLimits(max_prompt_tokens=300, max_completion_tokens=64)  # default 512 KiB body limit
MSG = [{"role": "user", "content": "Hello"}]
DEEP = "[" * 200_000 + "]" * 200_000
HUGE = "7" * 5000


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    engine = load_engine(str(tiny_model_dir), LIMITS, model_id="tiny")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def client(engine):
    return TestClient(create_app(engine), base_url=LOCAL, raise_server_exceptions=False)


def chat(**overrides) -> dict:
    return {"model": "tiny", "messages": MSG, "max_tokens": 3, "temperature": 0, **overrides}


def raw(**overrides) -> bytes:
    """A request body with placeholders `"@NAME@"` replaced by raw JSON text (NaN, huge numbers...)."""
    text = json.dumps(chat(**{k: f"@{k}@" for k in overrides}))
    for key, value in overrides.items():
        text = text.replace(f'"@{key}@"', value)
    return text.encode()


def body(**overrides) -> bytes:
    return json.dumps(chat(**overrides)).encode()


# (id, request body, expected status, fragment of the error message or None)
BODY_CASES = [
    ("not-json", b"{not json", 400, "not valid JSON"),
    ("empty-body", b"", 400, "not valid JSON"),
    ("json-list", b"[1, 2]", 400, "must be a JSON object"),
    ("json-null", b"null", 400, "must be a JSON object"),
    ("json-string", b'"hi"', 400, "must be a JSON object"),
    ("json-number", b"1", 400, "must be a JSON object"),
    ("deeply-nested-array", DEEP.encode(), 400, "nested too deeply"),
    ("deeply-nested-object", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(), 400, "nested too deeply"),
    ("deep-in-extra-field", raw(extra="[" * 4000 + "]" * 4000), 400, "nested too deeply"),
    ("nested-50-in-extra-field", raw(extra="[" * 50 + "]" * 50), 200, None),
    ("5000-digit-max-tokens", raw(max_tokens=HUGE), 400, "not valid JSON"),
    ("5000-digit-seed", raw(seed=HUGE), 400, "not valid JSON"),
    ("5000-digit-top-level", HUGE.encode(), 400, "not valid JSON"),
    ("non-utf8-body", b'{"model": "tiny\xff"}', 400, "not valid JSON"),
    ("latin-1-body", json.dumps(chat(messages=[{"role": "user", "content": "caf\u00e9"}]), ensure_ascii=False).encode("latin-1"), 400, "not valid JSON"),
    ("utf-8-bom-body", b"\xef\xbb\xbf" + body(), 200, None),
    ("utf-16-body", json.dumps(chat()).encode("utf-16"), 200, None),
    ("truncated-body", body()[:-5], 400, "not valid JSON"),
    ("trailing-garbage", body() + b"xx", 400, "not valid JSON"),
    ("temperature-1e-300", body(temperature=1e-300), 200, None),
    ("temperature-5e-324", raw(temperature="5e-324"), 200, None),
    ("temperature-1e-45", body(temperature=1e-45), 200, None),
    ("temperature-minus-0", raw(temperature="-0.0"), 200, None),
    ("temperature-2", body(temperature=2.0), 200, None),
    ("temperature-NaN", raw(temperature="NaN"), 422, "temperature"),
    ("temperature-Infinity", raw(temperature="Infinity"), 422, "temperature"),
    ("temperature-negative", body(temperature=-0.5), 422, "temperature"),
    ("temperature-1e309", raw(temperature="1e309"), 422, "temperature"),
    ("temperature-object", body(temperature={"v": 1}), 422, "temperature"),
    ("top-p-1e-300", body(top_p=1e-300, temperature=1.0), 200, None),
    ("top-p-0", body(top_p=0), 422, "top_p"),
    ("top-p-above-1", body(top_p=1.0000001), 422, "top_p"),
    ("top-p-NaN", raw(top_p="NaN"), 422, "top_p"),
    ("seed-2**63", body(seed=2**63), 422, "seed"),
    ("seed-2**64", body(seed=2**64), 422, "seed"),
    ("seed-2**200", body(seed=2**200), 422, "seed"),
    ("seed-below-int64", body(seed=-(2**63) - 1), 422, "seed"),
    ("seed-int64-max", body(seed=2**63 - 1, temperature=1.0), 200, None),
    ("seed-int64-min", body(seed=-(2**63), temperature=1.0), 200, None),
    ("seed-negative", body(seed=-5, temperature=1.0), 200, None),
    ("seed-float", body(seed=1.5), 422, "seed"),
    ("seed-list", body(seed=[1]), 422, "seed"),
    ("max-tokens-0", body(max_tokens=0), 422, "max_tokens"),
    ("max-tokens-negative", body(max_tokens=-1), 422, "max_tokens"),
    ("max-tokens-above-limit", body(max_tokens=65), 422, "max_tokens"),
    ("max-tokens-2**70", body(max_tokens=2**70), 422, "max_tokens"),
    ("max-tokens-float", body(max_tokens=2.5), 422, "max_tokens"),
    ("max-completion-tokens-0", body(max_completion_tokens=0), 422, "max_completion_tokens"),
    ("frequency-penalty-2", body(frequency_penalty=2.0), 200, None),
    ("frequency-penalty-2.1", body(frequency_penalty=2.1), 422, "frequency_penalty"),
    ("presence-penalty-NaN", raw(presence_penalty="NaN"), 422, "presence_penalty"),
    ("presence-penalty-minus-2", body(presence_penalty=-2.0, temperature=0.7, seed=1), 200, None),
    ("lone-surrogate-content", raw(messages='[{"role": "user", "content": "hi \\ud800"}]'), 422, "lone UTF-16 surrogate"),
    ("lone-low-surrogate", raw(messages='[{"role": "user", "content": "\\udfff"}]'), 422, "lone UTF-16 surrogate"),
    ("lone-surrogate-name", raw(messages='[{"role": "user", "content": "hi", "name": "\\ud800"}]'), 422, "surrogate"),
    ("lone-surrogate-text-part", raw(messages='[{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]'), 422, "surrogate"),
    ("lone-surrogate-stop", raw(stop='["\\ud800"]'), 422, "surrogate"),
    ("lone-surrogate-model", raw(model='"tiny\\ud800"'), 422, "model"),
    ("surrogate-pair-emoji", raw(messages='[{"role": "user", "content": "\\ud83d\\ude00"}]'), 200, None),
    ("nul-character", body(messages=[{"role": "user", "content": "a\u0000b"}]), 200, None),
    ("control-characters", body(messages=[{"role": "user", "content": "\u001b[31m\u0007\u200f"}]), 200, None),
    ("content-parts", body(messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]), 200, None),
    ("content-null", body(messages=[{"role": "user", "content": None}]), 200, None),
    ("content-empty", body(messages=[{"role": "user", "content": ""}]), 200, None),
    ("content-image-part", body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]), 422, "messages"),
    ("content-number", body(messages=[{"role": "user", "content": 5}]), 422, "messages"),
    ("role-tool", body(messages=[{"role": "tool", "content": "x"}]), 422, "messages"),
    ("role-missing", body(messages=[{"content": "x"}]), 422, "messages"),
    ("message-not-object", body(messages=["Hello"]), 422, "messages"),
    ("messages-object", body(messages={"role": "user", "content": "x"}), 422, "messages"),
    ("messages-empty", body(messages=[]), 422, "messages"),
    ("messages-257", body(messages=MSG * 257), 422, "messages"),
    ("last-message-assistant", body(messages=[{"role": "assistant", "content": "x"}]), 422, "last message"),
    ("prompt-too-long", body(messages=[{"role": "user", "content": "word " * 1000}]), 413, "tokens"),
    ("body-too-large", body(messages=[{"role": "user", "content": "x" * 600_000}]), 413, "above the limit"),
    ("stop-empty-list", body(stop=[]), 200, None),
    ("stop-four", body(stop=["a", "b", "c", "d"]), 200, None),
    ("stop-five", body(stop=["a", "b", "c", "d", "e"]), 422, "stop"),
    ("stop-empty-string", body(stop=""), 422, "stop"),
    ("stop-numbers", body(stop=[1, 2]), 422, "stop"),
    ("stream-not-bool", body(stream="maybe"), 422, "stream"),
    ("stream-options-list", body(stream=True, stream_options=[1]), 422, "stream_options"),
    ("n-2", body(n=2), 422, "n"),
    ("tools", body(tools=[{"type": "function"}]), 422, "tools"),
    ("logprobs", body(logprobs=True), 422, "logprobs"),
    ("response-format-json", body(response_format={"type": "json_object"}), 422, "response_format"),
    ("response-format-string", body(response_format="text"), 422, "response_format"),
    ("unknown-fields-ignored", body(user="u", metadata={"a": 1}, foo=[1, 2]), 200, None),
    ("nulls-mean-defaults", body(temperature=None, top_p=None, seed=None, stop=None), 200, None),
    ("model-unknown", body(model="gpt-4"), 404, "does not exist"),
    ("model-empty", body(model=""), 422, "model"),
    ("model-number", body(model=5), 422, "model"),
    ("model-missing", json.dumps({"messages": MSG}).encode(), 422, "model"),
]  # fmt: skip


def assert_openai_error(response: httpx.Response, status: int, fragment: str | None) -> None:
    assert response.status_code == status, response.text[:1000]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if fragment is not None:
        assert fragment in error["message"] or fragment == error["param"], error


@pytest.mark.parametrize(
    ("payload", "status", "fragment"), [c[1:] for c in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
def test_every_request_body_gets_2xx_or_an_openai_4xx(client, payload, status, fragment):
    response = client.post(
        "/v1/chat/completions", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text[:1000]
    if status == 200:
        assert response.status_code == 200, response.text[:1000]
        assert response.json()["choices"][0]["message"]["role"] == "assistant"
    else:
        assert_openai_error(response, status, fragment)


# (id, method, path, headers, expected status, fragment)
HEADER_CASES = [
    ("host-evil", "POST", "/v1/chat/completions", {"Host": "evil.example"}, 421, "--allowed-host"),
    ("host-evil-port", "POST", "/v1/chat/completions", {"Host": "evil.example:8000"}, 421, "evil.example"),
    ("host-rebinding-suffix", "POST", "/v1/chat/completions", {"Host": "localhost.evil.example"}, 421, None),
    ("host-nip-io", "POST", "/v1/chat/completions", {"Host": "127.0.0.1.nip.io"}, 421, None),
    ("host-empty", "POST", "/v1/chat/completions", {"Host": ""}, 421, None),
    ("host-evil-models", "GET", "/v1/models", {"Host": "evil.example"}, 421, None),
    ("host-evil-page", "GET", "/", {"Host": "evil.example"}, 421, None),
    ("host-evil-health", "GET", "/health", {"Host": "attacker.test"}, 421, None),
    ("host-localhost-port", "POST", "/v1/chat/completions", {"Host": "localhost:8000"}, 200, None),
    ("host-localhost-upper", "POST", "/v1/chat/completions", {"Host": "LOCALHOST:8000"}, 200, None),
    ("host-127", "POST", "/v1/chat/completions", {"Host": "127.0.0.1:8000"}, 200, None),
    ("host-ipv6-loopback", "POST", "/v1/chat/completions", {"Host": "[::1]:8000"}, 200, None),
    ("host-ip-literal", "POST", "/v1/chat/completions", {"Host": "192.168.1.20:8000"}, 200, None),
    ("origin-cross-text-plain", "POST", "/v1/chat/completions", {"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403, "--cors-origin"),
    ("origin-cross-json", "POST", "/v1/chat/completions", {"Origin": "https://evil.example"}, 403, "cross-origin"),
    ("origin-null", "POST", "/v1/chat/completions", {"Origin": "null"}, 403, "cross-origin"),
    ("origin-other-port", "POST", "/v1/chat/completions", {"Origin": "http://localhost:9999"}, 403, None),
    ("origin-cross-models", "GET", "/v1/models", {"Origin": "http://evil.example"}, 403, None),
    ("origin-cross-preflight", "OPTIONS", "/v1/chat/completions", {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, 403, None),
    ("origin-same", "POST", "/v1/chat/completions", {"Origin": "http://localhost"}, 200, None),
    ("origin-cross-page-is-public", "GET", "/", {"Origin": "http://evil.example"}, 200, None),
    ("no-origin-text-plain", "POST", "/v1/chat/completions", {"Content-Type": "text/plain"}, 200, None),
    ("method-get-chat", "GET", "/v1/chat/completions", {}, 405, None),
    ("method-delete-models", "DELETE", "/v1/models", {}, 405, None),
    ("unknown-path", "GET", "/v1/completions/../../etc/passwd", {}, 404, None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "headers", "status", "fragment"), [c[1:] for c in HEADER_CASES],
                         ids=[c[0] for c in HEADER_CASES])  # fmt: skip
def test_host_and_origin_checks(client, method, path, headers, status, fragment):
    content = body() if method == "POST" else None
    response = client.request(
        method, path, content=content, headers={"Content-Type": "application/json", **headers}
    )
    if status == 200:
        assert response.status_code == 200, response.text[:1000]
    else:
        assert_openai_error(response, status, fragment)


def test_allowed_names_and_cors_origins(engine):
    app = create_app(
        engine, host="0.0.0.0", allowed_hosts=("chat.example",), cors_origins=("https://ui.example",)
    )
    c = TestClient(app, base_url="http://chat.example")  # no `with`: its lifespan would close the engine
    assert c.post("/v1/chat/completions", json=chat()).status_code == 200
    allowed = c.post("/v1/chat/completions", json=chat(), headers={"Origin": "https://ui.example"})
    assert (
        allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://ui.example"
    )
    preflight = c.options("/v1/chat/completions", headers={"Origin": "https://ui.example",
                          "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})  # fmt: skip
    assert preflight.status_code == 200 and "POST" in preflight.headers["access-control-allow-methods"]
    assert_openai_error(
        c.post("/v1/chat/completions", json=chat(), headers={"Origin": "https://other.example"}), 403, None
    )
    assert_openai_error(c.get("/v1/models", headers={"Host": "other.example"}), 421, None)
    any_host = TestClient(create_app(engine, allowed_hosts=("*",)), base_url="http://anything.example")
    assert any_host.get("/v1/models").status_code == 200


def test_a_bad_request_in_a_batch_does_not_change_the_others(engine):
    """temperature 1e-300 used to turn the batch's logits into NaN and fail every request in it."""
    app = create_app(engine)
    good = [chat(max_tokens=8, messages=[{"role": "user", "content": f"Question {i}"}]) for i in range(3)]
    bad = [chat(max_tokens=8, temperature=t, seed=1) for t in (1e-300, 5e-324, 1e-45)]

    async def post_all(bodies: list[dict]) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL, timeout=60) as c:
            return await asyncio.gather(*(c.post("/v1/chat/completions", json=b) for b in bodies))

    alone = [r.json()["choices"][0]["message"]["content"] for r in asyncio.run(post_all(good))]
    mixed = asyncio.run(post_all([bad[0], good[0], bad[1], good[1], bad[2], good[2]]))
    assert [r.status_code for r in mixed] == [200] * 6, [r.text for r in mixed]
    assert [r.json()["choices"][0]["message"]["content"] for r in mixed[1::2]] == alone


def test_a_non_streaming_client_that_disconnects_frees_its_row(engine):
    """Drive the app as uvicorn would: the body, then `http.disconnect` while the answer is generated."""
    app = create_app(engine)
    payload = body(max_tokens=64, temperature=1.0, seed=3)
    sent: list[dict] = []
    jobs_before = engine.stats()

    async def call() -> float:
        messages = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(0.01)  # the client leaves right after sending its request
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("localhost", 80),
                 "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")]}  # fmt: skip
        start = time.monotonic()
        await app(scope, receive, send)
        return time.monotonic() - start

    elapsed = asyncio.run(call())
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 499 and elapsed < 5  # not 200 after generating all 64 tokens
    deadline = time.monotonic() + 5
    while engine.stats() != jobs_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.stats() == jobs_before == {"waiting": 0, "running": 0}


def read_response(sock: socket.socket) -> bytes:
    """One whole /health response (its JSON body ends with `}`)."""
    data = b""
    while not data.endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class EchoModel:
    name = "echo"

    def generate(self, conversations, params):
        from notus.llm.contract import Completion

        return [Completion("ok", 1, 1) for _ in conversations]


class StrictTemplateTokenizer:
    """A stand-in tokenizer whose chat template refuses a system message, as some models' templates do."""

    def apply_chat_template(self, conversation, **kwargs):
        import jinja2

        if conversation[0]["role"] == "system":
            raise jinja2.TemplateError("System role not supported")
        return "".join(m["content"] for m in conversation)

    def __call__(self, text, **kwargs):
        return {"input_ids": list(range(len(text)))}


class StrictTemplateModel(EchoModel):
    name = "strict"
    tokenizer = StrictTemplateTokenizer()


def test_a_chat_template_refusal_is_400_on_the_contract_engine_too():
    engine = ContractEngine(StrictTemplateModel(), "strict", ServeLimits())
    c = TestClient(create_app(engine), base_url=LOCAL)
    system = [{"role": "system", "content": "be brief"}, *MSG]
    assert_openai_error(
        c.post("/v1/chat/completions", json=chat(model="strict", messages=system)), 400, "System role"
    )
    assert (
        c.post("/v1/chat/completions", json=chat(model="strict")).json()["choices"][0]["message"]["content"]
        == "ok"
    )
    engine.close()


def test_slow_headers_are_cut_off_and_complete_requests_are_not():
    import uvicorn

    engine = ContractEngine(EchoModel(), "echo", ServeLimits())
    port = free_port()
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="critical",
                            http=header_timeout_protocol(0.5), timeout_keep_alive=5)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # headers sent slowly
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127")
            start = time.monotonic()
            assert sock.recv(1024) == b"" and time.monotonic() - start < 3  # closed by the server
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # keep-alive, then slow
            sock.sendall(request)
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET /health HTTP/1.1\r\n")
            start = time.monotonic()
            assert sock.recv(1024) == b"" and time.monotonic() - start < 3
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:  # a normal client is served
            time.sleep(0.2)
            sock.sendall(request)
            assert read_response(sock).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.close()


SERVE_CLI_CASES = [
    (["--cors-origin", "evil"], "--cors-origin 'evil' must be scheme://host"),
    (["--cors-origin", "http://ok.example/path"], "must be scheme://host"),
    (["--port", "70000"], "--port must be 0-65535"),
    (["--max-batch-size", "0"], "--max-batch-size must be >= 1"),
]


@pytest.mark.parametrize(("args", "fragment"), SERVE_CLI_CASES, ids=[" ".join(a) for a, _ in SERVE_CLI_CASES])
def test_serve_options_are_checked_before_loading(args, fragment, capsys):
    code, out, err = run_notus(["serve", "smollm2-135m-instruct", *args], capsys)
    assert code == 2 and fragment in err and "Traceback" not in out + err
