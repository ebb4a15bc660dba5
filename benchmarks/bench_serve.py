"""Benchmark serving one GGUF three ways on CPU: llama-cpp-python's own server, `notus serve` on
llama.cpp (streaming, multi-sequence batching) and `notus serve` on transformers (continuous batching).

    python benchmarks/bench_serve.py                        # the embedded SmolLM2-135M GGUF (Q4_1), 64 tokens
    python benchmarks/bench_serve.py --gguf model.q4_k_m.gguf --threads 2 --requests-per-client 4

Every side serves the same GGUF: llama.cpp reads it directly, transformers loads it dequantized (the
embedded model's safetensors folder is that GGUF converted by transformers). Each server runs alone, in
turn: a warm-up request, one client sending requests one after another, then 8 concurrent clients
(llama-cpp-python's server only gets the one-client phase: it serves one request at a time). Prints
aggregate completion tokens/s, p50/p95 time to first streamed token, peak RSS, and the targets of issue 17:
notus llama.cpp 1 client >= 0.9x llama-cpp-python's server, notus llama.cpp 8 clients >= 1.5x notus
transformers 8 clients, TTFT p50 < 0.5 s (1 client) and < 1.5 s (8 clients). Tokens are each server's own
usage counts (`stream_options.include_usage`); a server that sends none is counted one token per chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
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
    usage = chunks = 0
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]["completion_tokens"]
            elif chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                chunks += 1
                first = first if first is not None else time.perf_counter() - start
    return {"ttft": first if first is not None else time.perf_counter() - start, "tokens": usage or chunks}


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


def llama_cpp_python_server(gguf: Path, threads: int) -> ServerProcess:
    """`python -m llama_cpp.server` (llama-cpp-python[server]) on 127.0.0.1, stopped on exit."""
    args = ["--model_alias", "bench", "--host", "127.0.0.1", "--n_ctx", "2048",
            "--n_threads", str(threads), "--n_threads_batch", str(threads)]  # fmt: skip
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    return ServerProcess(str(gguf), args, command=command, health_path="/v1/models")


def measure(server, model_id: str, args, pid: int, concurrent: bool = True) -> dict:
    asyncio.run(phase(server.base_url, model_id, 1, 1, 8))  # warm-up
    out = {
        "single": asyncio.run(phase(server.base_url, model_id, 1, args.requests_per_client, args.max_tokens))
    }
    if concurrent:
        out["many"] = asyncio.run(
            phase(server.base_url, model_id, args.clients, args.requests_per_client, args.max_tokens)
        )
    out["peak_rss_mib"] = peak_rss_mib(pid)
    return out


def main() -> None:
    from notus.llm.models import DEFAULT_MODEL, convert_gguf, embedded_gguf_path, embedded_model_dir

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gguf", type=Path, default=None, help="default: the embedded model's GGUF")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests-per-client", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads of every server (1 suits a shared machine)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    gguf = args.gguf or embedded_gguf_path(DEFAULT_MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = embedded_model_dir() if args.gguf is None else convert_gguf(gguf, Path(tmp) / "hf")
        common = [
            "--log-level",
            "warning",
            "--max-batch-size",
            str(max(8, args.clients)),
            "--threads",
            str(args.threads),
        ]
        sides = {}
        with llama_cpp_python_server(gguf, args.threads) as server:
            sides["llama-cpp-python server"] = measure(
                server, "bench", args, server.process.pid, concurrent=False
            )
        with ServerProcess(str(gguf), [*common, "--served-model-name", "bench"]) as server:
            sides["notus serve (llama.cpp)"] = measure(server, "bench", args, server.process.pid)
        with ServerProcess(str(hf_dir), [*common, "--served-model-name", "bench"]) as server:
            sides["notus serve (transformers)"] = measure(server, "bench", args, server.process.pid)

    print(f"{gguf.name}, max_tokens={args.max_tokens}, threads={args.threads}, greedy, streaming")
    print(f"{'server':<28} {'clients':>7} {'requests':>8} {'tokens':>7} {'wall s':>7} {'tok/s':>7} "
          f"{'TTFT p50':>9} {'TTFT p95':>9} {'RSS MiB':>8}")  # fmt: skip
    for name, side in sides.items():
        for key in ("single", "many"):
            if key in side:
                r = side[key]
                print(f"{name:<28} {r['clients']:>7} {r['requests']:>8} {r['completion_tokens']:>7} "
                      f"{r['wall_s']:>7.1f} {r['tokens_per_s']:>7.1f} {r['ttft_p50_s']:>8.2f}s "
                      f"{r['ttft_p95_s']:>8.2f}s {side['peak_rss_mib']:>8.0f}")  # fmt: skip
    ours, lcp, hf = (
        sides[k] for k in ("notus serve (llama.cpp)", "llama-cpp-python server", "notus serve (transformers)")
    )
    checks = {
        "1 client: notus llama.cpp / llama-cpp-python server (>= 0.9x)": (
            ours["single"]["tokens_per_s"] / lcp["single"]["tokens_per_s"], 0.9),
        f"{args.clients} clients: notus llama.cpp / notus transformers (>= 1.5x)": (
            ours["many"]["tokens_per_s"] / hf["many"]["tokens_per_s"], 1.5),
    }  # fmt: skip
    for label, (ratio, target) in checks.items():
        print(f"{label}: {ratio:.2f}x {'ok' if ratio >= target else 'MISSED'}")
    for key, limit in (("single", 0.5), ("many", 1.5)):
        p50 = ours[key]["ttft_p50_s"]
        print(f"notus llama.cpp TTFT p50, {ours[key]['clients']} client(s): {p50:.2f} s (< {limit} s) "
              f"{'ok' if p50 < limit else 'MISSED'}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"gguf": str(gguf), "sides": sides,
                                         "ratios": {k: v[0] for k, v in checks.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
