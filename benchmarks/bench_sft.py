"""SFT on CPU: notus' lean loop vs TRL 1.16 SFTTrainer (defaults + use_cpu=True; fp32 unless --trl-bf16), in one run.

    PYTHONPATH=src python benchmarks/bench_sft.py [--steps 20] [--batch 4] [--max-length 512]

Embedded SmolLM2-135M-Instruct, conversations = prompt + chosen answer of the first steps x batch real
pairs of ../shared/data/ultrafeedback/binarized_overall_score_train_1000.jsonl, same hyperparameters
(lr 2e-5, AdamW, linear schedule, seed 42, max_length 512). Each side in its own child process.
tokens/s = the conversations' tokens (after truncation to max_length) / (model load + tokenization +
training steps). notus packs conversations (block-diagonal mask, no padding) and scores assistant
tokens through the chunked LM head; TRL's defaults pad each batch and compute full logits.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def conversations(n: int) -> list[dict]:
    from notus.train.bench import ultrafeedback_rows

    return [{"messages": r["prompt"] + r["chosen"]} for r in ultrafeedback_rows(n)]


def side_trl(args: argparse.Namespace) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from notus.llm.models import resolve_model

    rows = conversations(args.steps * args.batch)
    path = resolve_model("smollm2-135m-instruct")
    start, cpu = time.perf_counter(), time.process_time()
    config = SFTConfig(
        output_dir=args.tmp,
        use_cpu=True,
        bf16=args.trl_bf16,  # TRL's default is True: emulated on CPUs without bf16 units (see --trl-bf16)
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        max_length=args.max_length,
        learning_rate=2e-5,
        seed=42,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(path),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(path),
    )
    output = trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {
        "side": "trl",
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "loop_seconds": output.metrics["train_runtime"],
        "loss": losses,
    }


def side_notus(args: argparse.Namespace) -> dict:
    from notus.train.recipes import train_recipe
    from notus.train.sft import train_sft

    rows = conversations(args.steps * args.batch)
    recipe = train_recipe(
        "sft",
        backend="notus",
        gradient_checkpointing=True,
        model_name_or_path="smollm2-135m-instruct",
        output_dir=args.tmp,
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        max_length=args.max_length,
        learning_rate=2e-5,
        seed=42,
        logging_steps=1,
        disable_tqdm=True,
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = train_sft(recipe, rows)
    losses = [m["loss"] for m in result["metrics"]]
    return {
        "side": "notus",
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "loop_seconds": result["train_runtime"],
        "loss": losses,
    }


def count_tokens(args: argparse.Namespace) -> tuple[int, int]:
    from transformers import AutoConfig, AutoTokenizer

    from notus.llm.models import resolve_model
    from notus.train.data import tokenize_conversations

    path = resolve_model("smollm2-135m-instruct")
    items = tokenize_conversations(
        conversations(args.steps * args.batch), AutoTokenizer.from_pretrained(path), args.max_length
    )
    cfg = AutoConfig.from_pretrained(path)
    h, i, n = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    kv = cfg.num_key_value_heads * (h // cfg.num_attention_heads)
    body = n * (2 * h * h + 2 * h * kv + 3 * h * i)
    tokens = sum(len(item.ids) for item in items)
    return tokens, 6 * (body + h * cfg.vocab_size) * tokens


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
        trl_job = pool.submit(run_side, __file__, "trl", [*common, "--tmp", f"{tmp}/trl"])
        if not args.parallel:  # one after the other
            trl_job.result()
        ours = run_side(__file__, "notus", [*common, "--tmp", f"{tmp}/notus"])
        trl = trl_job.result()
    peak = matmul_peak_flops(seconds=1.0)
    tokens, flops = count_tokens(args)
    for side in (trl, ours):
        side["tokens_per_s"] = tokens / side["seconds"]
        side["tokens_per_cpu_s"] = tokens / side["cpu_seconds"]
        side["mfu"] = flops / side["seconds"] / peak
        side["first_loss"], side["last_loss"] = side["loss"][0], side["loss"][-1]
    print(
        f"SFT, embedded SmolLM2-135M-Instruct, {args.steps * args.batch} real conversations ({tokens} tokens), "
        f"batch {args.batch}, {args.steps} steps, max_length {args.max_length}; matmul peak {peak / 1e9:.1f} GFLOP/s"
        + (" [sides run in parallel: compare tokens per CPU-second]" if args.parallel else "")
    )
    keys = [
        "side",
        "seconds",
        "cpu_seconds",
        "loop_seconds",
        "tokens_per_s",
        "tokens_per_cpu_s",
        "peak_rss_mb",
    ]
    print(table([trl, ours], [*keys, "mfu", "first_loss", "last_loss"]))
    print(
        f"notus: tokens/s {ours['tokens_per_s'] / trl['tokens_per_s']:.2f}x TRL, tokens per CPU-second "
        f"{ours['tokens_per_cpu_s'] / trl['tokens_per_cpu_s']:.2f}x TRL (target >= 1.3x), "
        f"peak RSS {ours['peak_rss_mb'] / trl['peak_rss_mb']:.2f}x TRL"
    )
    print("note: the losses differ by design: TRL's defaults train on every token, notus on assistant tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
