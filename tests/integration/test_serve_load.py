"""Load on a real `notus serve` process (tiny model, API key set): 8 concurrent streaming clients x 50
requests, while a ninth client sends 50 malformed requests. No crash, no 5xx, the right error codes,
and every loop is bounded (fixed counts, timeouts)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from notus.serve.process import ServerProcess

KEY = "load-key"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
CLIENTS, REQUESTS_PER_CLIENT = 8, 50
TIMEOUT = httpx.Timeout(60.0)


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


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    args = ["--threads", "1", "--api-key", KEY, "--served-model-name", "tiny", "--log-level", "warning"]
    with ServerProcess(
        str(tiny_model_dir), args, log_path=tmp_path_factory.mktemp("serve") / "server.log"
    ) as running:
        yield running
    assert not running.alive()


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


def test_concurrent_streams_and_malformed_requests(server):
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
