"""Judge throughput: notus' cached, concurrent judge vs one-request-at-a-time, against an
OpenAI-compatible server on 127.0.0.1 with a fixed per-request latency (a stand-in for a remote API).

    python benchmarks/bench_eval_judge.py --requests 160 --latency 0.1 --concurrency 8

Runs, in one process: (1) baseline: the same requests sent one at a time (concurrency 1, no cache),
(2) notus: concurrency N with the SQLite judgment cache, (3) notus again on the same requests (all
cache hits). Prints requests/s of each, the speed-up ratios and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from notus.eval.judges import Judge
from notus.llm.contract import GenerationParams, load_model


def make_handler(latency: float):
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            data = json.dumps(
                {
                    "choices": [
                        {
                            "message": {"role": "assistant", "content": "Rating: [[7]]"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": len(body["messages"][-1]["content"]) // 4,
                        "completion_tokens": 5,
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Slow


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.latency))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}/v1"
    conversations = [[{"role": "user", "content": f"judge answer {i} " * 50}] for i in range(args.requests)]
    params = GenerationParams(max_new_tokens=16)
    try:
        baseline = load_model("judge", backend="openai", base_url=url, api_key="k", concurrency=1)
        t_base = timed(lambda: baseline.generate(conversations, params))
        with tempfile.TemporaryDirectory() as tmp:
            judge = Judge(
                load_model(
                    "judge", backend="openai", base_url=url, api_key="k", concurrency=args.concurrency
                ),
                Path(tmp) / "cache.sqlite",
                (0.03, 0.06),
                chunk_size=4 * args.concurrency,
            )
            t_notus = timed(lambda: judge.generate(conversations, params))
            t_cached = timed(lambda: judge.generate(conversations, params))
            print(judge.summary())
            judge.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    n = args.requests
    print(f"requests {n}, server latency {args.latency * 1000:.0f} ms")
    print(f"baseline (1 at a time, no cache): {n / t_base:8.1f} req/s  ({t_base:.2f} s)")
    print(
        f"notus (concurrency {args.concurrency}, cache):  {n / t_notus:8.1f} req/s  ({t_notus:.2f} s)  x{t_base / t_notus:.1f}"
    )
    print(
        f"notus re-run (all cache hits):    {n / t_cached:8.1f} req/s  ({t_cached:.3f} s)  x{t_base / t_cached:.0f}"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
