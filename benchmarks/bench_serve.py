"""Benchmark `notus serve` (continuous batching) on CPU: 8 concurrent streaming clients vs 1 client.

    python benchmarks/bench_serve.py                      # embedded SmolLM2-135M, 64 tokens per answer
    python benchmarks/bench_serve.py --threads 2 --max-tokens 128 --requests-per-client 4

One server process (`notus serve`, 127.0.0.1) serves both phases in the same run: first one client
sending requests one after another, then 8 clients doing the same concurrently. Prints aggregate
completion tokens/s of each phase and their ratio (target >= 3x), p50/p95 time to first token, and the
server's peak RSS. Tokens are the server's own usage counts (`stream_options.include_usage`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from notus.serve.process import ServerProcess  # noqa: E402

PROMPTS = [
    "Write a detailed essay about the history of the Roman Empire.",
    "Explain how a steam engine works, step by step, in detail.",
    "Write a long story about a dragon who learns to cook.",
    "Describe the water cycle for a school science class.",
    "Give a thorough guide to planting a vegetable garden.",
    "Explain the differences between Python lists, tuples and sets with examples.",
    "Write a letter to a friend describing a trip to the mountains.",
    "Explain photosynthesis and why it matters for life on Earth.",
]


async def one_request(client: httpx.AsyncClient, url: str, model: str, prompt: str, max_tokens: int) -> dict:
    body = {
        "model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip
    start = time.perf_counter()
    first = None
    tokens = 0
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter() - start
    return {"ttft": first if first is not None else time.perf_counter() - start, "tokens": tokens}


async def phase(base_url: str, model: str, clients: int, requests_each: int, max_tokens: int) -> dict:
    url = f"{base_url}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0)) as client:

        async def run_client(c: int) -> list[dict]:
            return [
                await one_request(client, url, model, PROMPTS[(c + r) % len(PROMPTS)], max_tokens)
                for r in range(requests_each)
            ]

        start = time.perf_counter()
        per_client = await asyncio.gather(*(run_client(c) for c in range(clients)))
        wall = time.perf_counter() - start
    results = [r for rs in per_client for r in rs]
    ttfts = sorted(r["ttft"] for r in results)
    tokens = sum(r["tokens"] for r in results)
    return {
        "clients": clients,
        "requests": len(results),
        "completion_tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "ttft_p50_s": statistics.median(ttfts),
        "ttft_p95_s": ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))],
    }


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests-per-client", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=1, help="server torch threads (1 suits a shared machine)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    server_args = ["--log-level", "warning", "--max-batch-size", str(max(8, args.clients))]
    if args.threads:
        server_args += ["--threads", str(args.threads)]
    model_id = args.model.rstrip("/").split("/")[-1]
    with ServerProcess(args.model, server_args) as server:
        asyncio.run(phase(server.base_url, model_id, 1, 1, 8))  # warm-up
        single = asyncio.run(phase(server.base_url, model_id, 1, args.requests_per_client, args.max_tokens))
        many = asyncio.run(
            phase(server.base_url, model_id, args.clients, args.requests_per_client, args.max_tokens)
        )
        rss = peak_rss_mib(server.process.pid)
    ratio = many["tokens_per_s"] / single["tokens_per_s"]
    print(
        f"notus serve on {args.model}, max_tokens={args.max_tokens}, threads={args.threads or 'torch default'}"
    )
    print(
        f"{'clients':>8} {'requests':>8} {'tokens':>7} {'wall s':>7} {'tok/s':>7} {'TTFT p50':>9} {'TTFT p95':>9}"
    )
    for row in (single, many):
        print(
            f"{row['clients']:>8} {row['requests']:>8} {row['completion_tokens']:>7} {row['wall_s']:>7.1f} "
            f"{row['tokens_per_s']:>7.1f} {row['ttft_p50_s']:>8.2f}s {row['ttft_p95_s']:>8.2f}s"
        )
    print(f"aggregate tokens/s, {args.clients} clients vs 1: {ratio:.2f}x (target >= 3x)")
    print(f"server peak RSS: {rss:.0f} MiB")
    if args.json:
        args.json.write_text(
            json.dumps({"single": single, "concurrent": many, "ratio": ratio, "peak_rss_mib": rss})
        )


if __name__ == "__main__":
    main()
