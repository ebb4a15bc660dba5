"""Completions per second with the embedded model on CPU: notus' generation paths vs transformers
`generate` one prompt at a time, same prompts, same max new tokens, greedy, in one run.

    python benchmarks/bench_generate.py [--prompts 16] [--max-new-tokens 48] [--threads 2]

Each side runs in its own fresh subprocess (one after the other, never concurrently) so that its
peak memory (max RSS) is its own. Sides:
- `hf-one-by-one` (baseline): `AutoModelForCausalLM.generate` on one chat-templated prompt at a time;
- `notus-transformers-batched`: the `transformers` backend, all prompts in one left-padded batch;
- `notus-llamacpp`: the `llamacpp` backend on the embedded GGUF (when llama-cpp-python is installed).
Prints completions/s, generated tokens/s, wall time and peak RSS per side, and each side's speed-up
over the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

PROMPTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "feedback" / "prompts_20.jsonl"
SIDES = ("hf-one-by-one", "notus-transformers-batched", "notus-llamacpp")


def conversations(n: int) -> list[list[dict]]:
    rows = [json.loads(line) for line in PROMPTS.read_text().splitlines()]
    return [[{"role": "user", "content": rows[i % len(rows)]["instruction"]}] for i in range(n)]


def run_side(side: str, n: int, max_new_tokens: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    convs = conversations(n)
    if side == "hf-one-by-one":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from notus.llm.models import resolve_model

        path = resolve_model("smollm2-135m-instruct")
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        start, tokens = time.perf_counter(), 0
        for conv in convs:
            ids = tok.apply_chat_template(
                conv, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            with torch.no_grad():
                out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, top_p=None, top_k=None,
                                     temperature=None, pad_token_id=tok.eos_token_id)  # fmt: skip
            new = out[0, ids["input_ids"].shape[1] :]
            tokens += int((new != tok.eos_token_id).sum())
        elapsed = time.perf_counter() - start
    else:
        from notus.llm.contract import GenerationParams, load_model

        if side == "notus-llamacpp":
            model = load_model("smollm2-135m-instruct", backend="llamacpp", n_threads=threads)
        else:
            model = load_model("smollm2-135m-instruct", backend="transformers", batch_size=n)
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0, seed=0)
        model.generate(convs[:1], GenerationParams(max_new_tokens=2))  # warm-up, as the baseline's first call
        start = time.perf_counter()
        outs = model.generate(convs, params)
        elapsed = time.perf_counter() - start
        tokens = sum(o.completion_tokens for o in outs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"side": side, "completions": n, "seconds": elapsed, "completions_per_s": n / elapsed,
            "tokens": tokens, "tokens_per_s": tokens / elapsed, "peak_rss_mb": peak_mb}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.prompts, args.max_new_tokens, args.threads)))
        return
    try:
        import llama_cpp  # noqa: F401

        sides = SIDES
    except ImportError:
        print("llama-cpp-python is not installed: skipping the notus-llamacpp side", file=sys.stderr)
        sides = SIDES[:2]
    results = []
    for side in sides:
        cmd = [sys.executable, __file__, "--side", side, "--prompts", str(args.prompts),
               "--max-new-tokens", str(args.max_new_tokens), "--threads", str(args.threads)]  # fmt: skip
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = results[0]["completions_per_s"]
    print(
        f"{args.prompts} prompts, max_new_tokens={args.max_new_tokens}, greedy, {args.threads} threads, CPU"
    )
    print(
        f"{'side':30} {'compl/s':>8} {'tok/s':>8} {'tokens':>7} {'seconds':>8} {'peak MB':>8} {'speed-up':>8}"
    )
    for r in results:
        print(f"{r['side']:30} {r['completions_per_s']:8.2f} {r['tokens_per_s']:8.1f} {r['tokens']:7d} "
              f"{r['seconds']:8.1f} {r['peak_rss_mb']:8.0f} {r['completions_per_s'] / base:7.1f}x")  # fmt: skip
    best = max(results[1:], key=lambda r: r["completions_per_s"])
    print(
        f"best notus path: {best['side']}: {best['completions_per_s'] / base:.1f}x the one-by-one baseline (target >= 5x)"
    )


if __name__ == "__main__":
    main()
