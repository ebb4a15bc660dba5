"""Crash safety and scale-out against real local HTTP servers (OpenAI-compatible stubs on 127.0.0.1
that answer deterministically and count every request):
- `notus feedback generate` killed with SIGKILL mid-run, then re-run: every request answered once,
  except only requests that were in flight at the kill (never an answer already received), and the
  output equals an uninterrupted run's;
- `--workers 2` with two `--base-url` servers: both serve, rows come back in input order, and
  `notus feedback rate` over the same two servers yields the raw UltraFeedback schema."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notus.core.runs import read_jsonl


def stub_answer(body: dict) -> str:
    prompt = body["messages"][-1]["content"]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if "Overall score: X" in prompt:
        return f"Feedback {digest[:6]}.\nOverall score: {int(digest, 16) % 10 + 1}"
    if "## Your assessment" in prompt:
        n = prompt.count("\n<text ")
        typed = "Type:" in prompt
        return "\n".join(
            f"#### Output for Text {i}\n" + ("Type: 1\nRationale: t\n" if typed else "")
            + f"Rating: {(int(digest, 16) >> i) % 5 + 1}\nRationale: r{i}\n"
            for i in range(1, n + 1)
        )  # fmt: skip
    return f"answer {digest[:12]}"


class Stub:
    """A ThreadingHTTPServer answering /v1/chat/completions after `delay` seconds."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[str] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(json.dumps(body, sort_keys=True))
                time.sleep(delay)
                data = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": stub_answer(body)},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
                ).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def stubs():
    made: list[Stub] = []
    yield lambda delay=0.0: made.append(Stub(delay)) or made[-1]
    for s in made:
        s.close()


def write_prompts(path, n):
    path.write_text(
        "".join(json.dumps({"instruction": f"Prompt number {i}: say something."}) + "\n" for i in range(n))
    )


def notus(*args):
    return [sys.executable, "-m", "notus", "feedback", *map(str, args)]


def test_kill9_and_resume_loses_nothing_and_repeats_no_answered_request(tmp_path, stubs):
    server = stubs(delay=0.03)
    write_prompts(tmp_path / "p.jsonl", 12)
    out = tmp_path / "g.jsonl"
    cmd = notus("generate", tmp_path / "p.jsonl", "-o", out, "--model", "m", "--backend", "openai",
                "--base-url", server.url, "--n", 4, "--concurrency", 2, "--batch-prompts", 2, "--quiet")  # fmt: skip
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    deadline = time.time() + 60
    while len(server.requests) < 15 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)  # let the in-flight requests reach the server
    sent_before_kill = len(server.requests)
    with sqlite3.connect(f"{out}.cache.sqlite") as db:
        answered_before_kill = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
    rows_before = len(read_jsonl(out)) if out.exists() else 0
    assert 0 < sent_before_kill < 48 and rows_before < 12, "the kill must land mid-run"

    subprocess.run(cmd, check=True, timeout=120)
    unique = set(server.requests)
    assert len(unique) == 48  # 12 prompts x 4 completions, each a distinct request
    repeated = len(server.requests) - len(unique)
    # only requests sent but unanswered at the kill were sent again (at most the 2 in flight)
    assert repeated == sent_before_kill - answered_before_kill <= 2
    rows = read_jsonl(out)
    assert len(rows) == 12 and all(len(r["completions"]) == 4 for r in rows)
    served = {stub_answer(json.loads(b)) for b in unique}
    assert {c["response"] for r in rows for c in r["completions"]} == served  # nothing lost or mixed up

    subprocess.run(cmd, check=True, timeout=120)  # a third run costs nothing
    assert len(server.requests) == 48 + repeated


def test_two_workers_over_two_servers_then_rate(tmp_path, stubs):
    a, b = stubs(), stubs()
    write_prompts(tmp_path / "p.jsonl", 6)
    gen_out, rate_out = tmp_path / "g.jsonl", tmp_path / "r.jsonl"
    common = ["--backend", "openai", "--base-url", a.url, "--base-url", b.url, "--workers", 2, "--quiet"]
    subprocess.run(notus("generate", tmp_path / "p.jsonl", "-o", gen_out, "--model", "m", "--n", 2, *common),
                   check=True, timeout=120)  # fmt: skip
    rows = read_jsonl(gen_out)
    assert [r["instruction"] for r in rows] == [f"Prompt number {i}: say something." for i in range(6)]
    assert len(a.requests) == len(b.requests) == 6  # worker i -> server i, 3 prompts x 2 completions each

    subprocess.run(
        notus("rate", gen_out, "-o", rate_out, "--judge", "j", "--critique", *common), check=True, timeout=120
    )
    rated = read_jsonl(rate_out)
    assert [r["instruction"] for r in rated] == [r["instruction"] for r in rows]
    c = rated[0]["completions"][0]
    assert set(c["annotations"]) == {"instruction_following", "honesty", "truthfulness", "helpfulness"}
    assert c["annotations"]["truthfulness"]["Type"] == ["1"] and c["overall_score"] is not None
    judgments = read_jsonl(f"{rate_out}.judgments.jsonl")
    assert len(judgments) == 6 * (4 + 2) and sorted(j["row"] for j in judgments) == [
        j["row"] for j in judgments
    ]
