"""The OpenAI-compatible backend (retries, request shape) against a real local HTTP server, and the
request cache (hits are free, a new process sees what an earlier one stored)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notus.llm.cache import CachedModel
from notus.llm.contract import Completion, GenerationParams, load_model
from notus.llm.openai_backend import EndpointError


class Handler(BaseHTTPRequestHandler):
    calls: list[dict] = []
    fail_first: list[int] = []  # status codes to answer before succeeding

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.calls.append({"body": body, "auth": self.headers.get("Authorization")})
        if Handler.fail_first:
            self.send_response(Handler.fail_first.pop(0))
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "busy"}}')
            return
        text = "echo: " + body["messages"][-1]["content"]
        answer = {
            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    Handler.calls.clear()
    Handler.fail_first.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()


def conv(text):
    return [{"role": "user", "content": text}]


def test_openai_backend_sends_chat_requests_and_retries(server):
    Handler.fail_first.extend([429, 503])
    model = load_model("judge-x", backend="openai", base_url=server, api_key="k", backoff=0.01)
    params = GenerationParams(max_new_tokens=7, stop=["\n"], seed=3)
    outs = model.generate([conv("a"), conv("b"), conv("c")], params)
    assert [o.text for o in outs] == ["echo: a", "echo: b", "echo: c"]
    assert outs[0].prompt_tokens == 3 and outs[0].completion_tokens == 2
    assert len(Handler.calls) == 5  # two refused attempts were retried
    body = Handler.calls[-1]["body"]
    assert (
        body["model"] == "judge-x"
        and body["max_tokens"] == 7
        and body["stop"] == ["\n"]
        and body["seed"] == 3
    )
    assert Handler.calls[-1]["auth"] == "Bearer k"


def test_openai_backend_gives_up_on_client_errors(server):
    Handler.fail_first.append(400)
    model = load_model("judge-x", backend="openai", base_url=server, api_key="", backoff=0.01)
    with pytest.raises(EndpointError, match="answered 400"):
        model.generate([conv("a")], GenerationParams())
    assert len(Handler.calls) == 1


class CountingModel:
    name = "counting"

    def __init__(self):
        self.seen = []

    def generate(self, conversations, params):
        self.seen.extend(c[-1]["content"] for c in conversations)
        return [Completion(text=c[-1]["content"].upper(), completion_tokens=1) for c in conversations]


def test_cache_never_repeats_a_request(tmp_path):
    inner = CountingModel()
    cached = CachedModel(inner, tmp_path / "cache.sqlite", chunk_size=2)
    params = GenerationParams(max_new_tokens=4)
    first = cached.generate([conv("a"), conv("b"), conv("c")], params)
    assert [c.text for c in first] == ["A", "B", "C"]
    cached.close()
    again = CachedModel(inner, tmp_path / "cache.sqlite")  # a new process would open the same file
    second = again.generate([conv("c"), conv("d"), conv("a")], params)
    assert [c.text for c in second] == ["C", "D", "A"]
    assert inner.seen == ["a", "b", "c", "d"]
    assert again.stats.hits == 2 and again.stats.misses == 1
    other_params = again.generate([conv("a")], GenerationParams(max_new_tokens=5))
    assert other_params[0].text == "A" and inner.seen[-1] == "a"  # different params: a different request


def test_a_damaged_cache_row_is_asked_again_and_a_foreign_file_is_refused(tmp_path):
    import sqlite3

    from notus.core.errors import DataError
    from notus.llm.cache import request_key

    inner, params = CountingModel(), GenerationParams(max_new_tokens=4)
    cached = CachedModel(inner, tmp_path / "cache.sqlite")
    cached.generate([conv("a"), conv("b")], params)
    cached.close()
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # one row damaged, one of the wrong shape
        db.execute(
            "UPDATE completions SET value = '{' WHERE key = ?", (request_key("counting", conv("a"), params),)
        )
        db.execute(
            "UPDATE completions SET value = '[1]' WHERE key = ?",
            (request_key("counting", conv("b"), params),),
        )
    again = CachedModel(inner, tmp_path / "cache.sqlite")
    assert [c.text for c in again.generate([conv("a"), conv("b")], params)] == ["A", "B"]
    assert inner.seen == ["a", "b", "a", "b"] and again.stats.misses == 2
    assert [c.text for c in again.generate([conv("a"), conv("b")], params)] == ["A", "B"]  # replaced rows
    assert again.stats.hits == 2
    (tmp_path / "text.sqlite").write_text("not a database " * 20)
    for path in (tmp_path / "text.sqlite", tmp_path):
        with pytest.raises(DataError, match="cannot be used as the request cache"):
            CachedModel(inner, path)
    assert (tmp_path / "text.sqlite").read_text() == "not a database " * 20
