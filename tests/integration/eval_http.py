"""Helpers for the evaluation tests' OpenAI-compatible servers on 127.0.0.1 (stdlib http.server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_body(handler: BaseHTTPRequestHandler) -> dict:
    return json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def chat_answer(text: str, prompt_tokens: int, completion_tokens: int, logprobs: list | None = None) -> dict:
    choice: dict = {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {
        "choices": [choice],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # many concurrent judge requests: no refused connections under load
    daemon_threads = True


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run the handler on a free port; yields the `/v1` base URL; always shuts the server down."""
    httpd = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_notus(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m notus ARGS`; a failure shows the command's stderr in the assertion message."""
    result = subprocess.run(
        [sys.executable, "-m", "notus", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, (
        f"notus {' '.join(args[:2])} exited {result.returncode}:\n{result.stderr[-3000:]}"
    )
    return result
