"""DPO on CPU: notus' lean loop vs TRL 1.16 DPOTrainer (defaults + use_cpu=True; fp32 unless --trl-bf16), in one run.

    PYTHONPATH=src python benchmarks/bench_dpo.py [--steps 20] [--batch 4] [--max-length 512]

Embedded SmolLM2-135M-Instruct, the first steps x batch real pairs of
../shared/data/ultrafeedback/binarized_overall_score_train_1000.jsonl, same hyperparameters (beta 0.1,
lr 5e-7, AdamW, linear schedule, seed 42, max_length 512 with TRL's keep_start truncation) on both sides.
Each side runs in its own child process (peak RSS per side). notus runs twice: with an empty
reference cache (cold: the reference pass is part of its time) and again on the same data (warm: the
cached reference log-probs are reused). Time = model load + tokenization + reference + training steps.
MFU = 6 * non-embedding params * (|prompt|+|chosen| + |prompt|+|rejected|) tokens (+ LM head) per second
over a fp32 matmul peak measured in this run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def side_trl(args: argparse.Namespace) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from notus.llm.models import resolve_model
    from notus.train.bench import ultrafeedback_rows

    rows = ultrafeedback_rows(args.steps * args.batch)
    path = resolve_model("smollm2-135m-instruct")
    start, cpu = time.perf_counter(), time.process_time()
    model = AutoModelForCausalLM.from_pretrained(path)
    config = DPOConfig(
        output_dir=args.tmp,
        use_cpu=True,
        bf16=args.trl_bf16,  # TRL's default is True: emulated on CPUs without bf16 units (see --trl-bf16)
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        max_length=args.max_length,
        learning_rate=5e-7,
        beta=0.1,
        seed=42,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(path),
    )
    output = trainer.train()
    elapsed = time.perf_counter() - start
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {
        "side": "trl",
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu,
        "loop_seconds": output.metrics["train_runtime"],
        "loss": losses,
    }


def side_notus(args: argparse.Namespace) -> dict:
    from notus.train.bench import ultrafeedback_rows
    from notus.train.dpo import train_dpo
    from notus.train.recipes import train_recipe

    rows = ultrafeedback_rows(args.steps * args.batch)
    recipe = train_recipe(
        "dpo",
        backend="notus",
        gradient_checkpointing=True,
        model_name_or_path="smollm2-135m-instruct",
        output_dir=args.tmp,
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        max_length=args.max_length,
        learning_rate=5e-7,
        beta=0.1,
        seed=42,
        logging_steps=1,
        disable_tqdm=True,
        ref_cache_dir=args.cache,
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = train_dpo(recipe, rows)
    elapsed = time.perf_counter() - start
    losses = [m["loss"] for m in result["metrics"]]
    hit = result["reference_cache_hit"]
    return {
        "side": "notus-warm" if hit else "notus-cold",
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu,
        "loop_seconds": result["train_runtime"],
        "loss": losses,
    }


def model_flops(args: argparse.Namespace) -> float:
    """Useful training FLOPs of the benchmark's pairs (identical numerator for every side)."""
    from transformers import AutoConfig, AutoTokenizer

    from notus.llm.models import resolve_model
    from notus.train.bench import ultrafeedback_rows
    from notus.train.data import tokenize_pairs

    path = resolve_model("smollm2-135m-instruct")
    cfg = AutoConfig.from_pretrained(path)
    pairs = tokenize_pairs(
        ultrafeedback_rows(args.steps * args.batch), AutoTokenizer.from_pretrained(path), args.max_length
    )
    h, i, n = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    kv = cfg.num_key_value_heads * (h // cfg.num_attention_heads)
    body = n * (2 * h * h + 2 * h * kv + 3 * h * i)
    tokens = sum(2 * len(p.prompt) + len(p.chosen) + len(p.rejected) for p in pairs)
    scored = sum(len(p.chosen) + len(p.rejected) for p in pairs)
    return 6 * body * tokens + 6 * h * cfg.vocab_size * scored


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--side", choices=["trl", "notus"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--tmp")
    parser.add_argument(
        "--trl-bf16",
        action="store_true",
        help="keep TRL's bf16 default (autocast): on CPUs without bf16 units (AVX2 only) it is emulated and "
        "slow (DPO: ~15 min per step on a 2-core AVX2 EPYC), so the default compares against TRL in fp32",
    )
    parser.add_argument(
        "--parallel", action="store_true", help="run the sides at once (busy shared machines)"
    )
    parser.add_argument("--cache")
    args = parser.parse_args()
    if args.side:
        from notus.train.bench import report

        report(side_trl(args) if args.side == "trl" else side_notus(args))
        return 0

    from notus.train.bench import run_side, table
    from notus.train.loop import matmul_peak_flops

    common = ["--steps", str(args.steps), "--batch", str(args.batch), "--max-length", str(args.max_length)]
    common += ["--trl-bf16"] if args.trl_bf16 else []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2 if args.parallel else 1) as pool:
        cache = str(Path(tmp) / "ref-cache")
        trl_job = pool.submit(run_side, __file__, "trl", [*common, "--tmp", f"{tmp}/trl"])
        if not args.parallel:
            trl_job.result()
        cold = run_side(__file__, "notus", [*common, "--tmp", f"{tmp}/cold", "--cache", cache])
        warm = run_side(__file__, "notus", [*common, "--tmp", f"{tmp}/warm", "--cache", cache])
        trl = trl_job.result()
    peak = matmul_peak_flops(seconds=1.0)
    flops = model_flops(args)
    pairs = args.steps * args.batch
    for side in (trl, cold, warm):
        side["pairs_per_s"] = pairs / side["seconds"]
        side["pairs_per_cpu_s"] = pairs / side["cpu_seconds"]
        side["mfu"] = flops / side["seconds"] / peak
        side["first_loss"], side["last_loss"] = side["loss"][0], side["loss"][-1]
    print(
        f"DPO, embedded SmolLM2-135M-Instruct, {pairs} real UltraFeedback pairs, batch {args.batch}, "
        f"{args.steps} steps, max_length {args.max_length}; matmul peak {peak / 1e9:.1f} GFLOP/s (fp32)"
        + (" [sides run in parallel: compare pairs per CPU-second]" if args.parallel else "")
    )
    keys = ["side", "seconds", "cpu_seconds", "loop_seconds", "pairs_per_s", "pairs_per_cpu_s", "peak_rss_mb"]
    print(table([trl, cold, warm], [*keys, "mfu", "first_loss", "last_loss"]))
    for side in (cold, warm):
        print(
            f"{side['side']}: pairs/s {side['pairs_per_s'] / trl['pairs_per_s']:.2f}x TRL, "
            f"pairs per CPU-second {side['pairs_per_cpu_s'] / trl['pairs_per_cpu_s']:.2f}x TRL (target >= 1.5x), "
            f"peak RSS {side['peak_rss_mb'] / trl['peak_rss_mb']:.2f}x TRL (target <= 0.6x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
