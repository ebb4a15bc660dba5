"""The lean training loop shared by SFT and DPO: plain functions, no Trainer subclass.

One optimizer step consumes a global batch of `per_device_train_batch_size * gradient_accumulation_steps
* world_size` examples (length-grouped, in a seeded order). Each process runs its share in micro-batches
of at most `micro_batch_tokens` tokens; a method's `step_fn` does forward + backward and returns metric
sums. Gradients are summed over processes with one all-reduce (torch.distributed, gloo on CPU), so a
2-process run takes the same steps as a 1-process run with twice the accumulation.

Checkpoints (`save_strategy: steps` + `save_steps`, or `epoch`) hold trainable weights, optimizer, scheduler
and RNG state as safetensors + JSON (nothing on disk is unpickled); re-running the same command after a
crash (even kill -9) resumes from the last complete one and truncates metrics.jsonl back to it, so the
final weights and metrics equal an uninterrupted run's.

The recipe keys this backend honours are `HONOURED` (TRL's names); any other key set in a recipe gets one
note line saying the notus backend does not use it (`backend: trl` honours every TRL key).
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from notus.core.errors import NotusError, RecipeError
from notus.core.runs import JsonlWriter, read_jsonl, write_jsonl
from notus.train.recipes import NotusArguments, TrainRecipe
from notus.train.state import load_state, save_state

StepFn = Callable[[list[int], list[int]], dict[str, float]]

OPTIMIZERS = {
    "adamw_torch": "adamw",
    "adamw_torch_fused": "adamw",
    "adamw_hf": "adamw",
    "rmsprop": "rmsprop",
    "sgd": "sgd",
}
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")
# Keys the notus loop reads (TRL's names). Data, model, Hub and card keys are read by the stage for both backends.
HONOURED = {
    "model_name_or_path",
    "model_revision",
    "dtype",
    "attn_implementation",
    "use_peft",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "load_in_4bit",
    "load_in_8bit",
    "output_dir",
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "lr_scheduler_type",
    "warmup_steps",
    "optim",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "seed",
    "bf16",
    "fp16",
    "tf32",
    "gradient_checkpointing",
    "gradient_checkpointing_kwargs",
    "report_to",
    "logging_steps",
    "logging_strategy",
    "save_strategy",
    "save_steps",
    "save_total_limit",
    "disable_tqdm",
    "beta",
    "loss_type",
    "label_smoothing",
    "packing",
    "assistant_only_loss",
    "push_to_hub",
    "hub_model_id",
    "hub_private_repo",
    "do_eval",
    "eval_strategy",
    "per_device_eval_batch_size",
    "run_name",
    "log_level",
    "remove_unused_columns",
    "use_cpu",
    "dataset_num_proc",
    "preprocessing_num_workers",
    "dataset_mixture",
    "dataset_mixer",
    "dataset_splits",
    "dataset_name",
    "dataset_config",
    "dataset_train_split",
    "dataset_test_split",
    "chat_template",
    "precompute_ref_log_probs",
    "disable_dropout",
    "activation_checkpointing",
    *(f.name for f in dataclasses.fields(NotusArguments)),
}


def backend_notes(recipe: TrainRecipe) -> list[str]:
    """Problems that stop the notus loop, and one note naming the keys it does not use."""
    optim = str(getattr(recipe.optim, "value", recipe.optim))
    scheduler = str(getattr(recipe.lr_scheduler_type, "value", recipe.lr_scheduler_type))
    problems = []
    if optim not in OPTIMIZERS:
        problems.append(
            f"optim: {optim!r}: the notus backend has {', '.join(OPTIMIZERS)}; or use backend: trl"
        )
    if scheduler not in SCHEDULERS:
        problems.append(
            f"lr_scheduler_type: {scheduler!r}: the notus backend has {', '.join(SCHEDULERS)}; or use backend: trl"
        )
    if problems:
        raise RecipeError(problems, f"{recipe.method} recipe (backend: notus)")
    unused = sorted(k for k in recipe.keys if k not in HONOURED)
    return [f"backend notus does not use: {', '.join(unused)} (backend: trl honours them)"] if unused else []


@dataclass
class Runtime:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_runtime(recipe: TrainRecipe) -> Runtime:
    """Seed, threads and (under torchrun) the process group: gloo on CPU, nccl on GPUs."""
    if recipe.torch_threads:
        torch.set_num_threads(recipe.torch_threads)
    torch.manual_seed(recipe.seed)
    random.seed(recipe.seed)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(device)
    return Runtime(rank, world, device)


def load_model(recipe: TrainRecipe, path: str, runtime: Runtime) -> torch.nn.Module:
    """A causal LM ready to train: fp32 weights (autocast handles bf16), dropout off, LoRA if asked."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if recipe.load_in_4bit:
        from transformers import BitsAndBytesConfig

        if not torch.cuda.is_available():
            raise NotusError(
                "load_in_4bit (QLoRA) needs a CUDA GPU and bitsandbytes; use use_peft=true alone on CPU"
            )
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16
        )
    attention = recipe.attn_implementation or "sdpa"
    model = AutoModelForCausalLM.from_pretrained(
        path, attn_implementation=attention, revision=recipe.model_revision, **kwargs
    )
    for module in model.modules():  # deterministic training, as TRL's disable_dropout
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    if hasattr(model.config, "attention_dropout"):
        model.config.attention_dropout = 0.0
    if recipe.gradient_checkpointing:
        ckpt = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=ckpt)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=ckpt)
    if recipe.use_peft:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=recipe.lora_r,
            lora_alpha=recipe.lora_alpha,
            lora_dropout=0.0,  # dropout off for exact resume and reproducible curves
            target_modules=recipe.lora_target_modules or "all-linear",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, config)
    return model.to(runtime.device).train()


def flops_per_token(model: torch.nn.Module) -> tuple[float, float]:
    """(training FLOPs per decoder token, extra FLOPs per scored token through the LM head)."""
    head = model.get_output_embeddings().weight
    body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n and p is not head)
    return 6.0 * body, 6.0 * head.numel()


def make_optimizer(recipe: TrainRecipe, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    kind = OPTIMIZERS[str(getattr(recipe.optim, "value", recipe.optim))]
    if kind == "adamw":  # fused: one kernel for all tensors (~9x faster than the loop on CPU)
        fused = all(p.dtype == torch.float32 for p in params)
        return torch.optim.AdamW(
            params,
            lr=recipe.learning_rate,
            betas=(recipe.adam_beta1, recipe.adam_beta2),
            eps=recipe.adam_epsilon,
            weight_decay=recipe.weight_decay,
            fused=fused,
        )
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)


def warmup_steps(recipe: TrainRecipe, total: int) -> int:
    """transformers 5: warmup_steps below 1 is a ratio of the total steps, from 1 on a number of steps."""
    value = recipe.warmup_steps or 0
    return math.ceil(value * total) if value < 1 else int(value)


def make_scheduler(recipe: TrainRecipe, optimizer: torch.optim.Optimizer, total: int):
    warmup = warmup_steps(recipe, total)
    kind = str(getattr(recipe.lr_scheduler_type, "value", recipe.lr_scheduler_type))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1) if kind != "constant" else 1.0
        if kind in ("constant", "constant_with_warmup"):
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 1 - progress) if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_order(lengths: list[int], batch: int, seed: int, epoch: int) -> list[list[int]]:
    """Seeded shuffle, then length-grouped: sort within mega-batches of 16 batches, shuffle the batches."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    mega = batch * 16
    for start in range(0, len(order) - batch + 1, mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch] for i in range(0, len(chunk) - batch + 1, batch)]
    rng.shuffle(batches)
    return batches


def micro_batches(indices: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    used = 0
    for i in indices:
        if out[-1] and used + lengths[i] > budget:
            out.append([])
            used = 0
        out[-1].append(i)
        used += lengths[i]
    return out if out[0] else []


_PEAK: dict[tuple[str, torch.dtype], float] = {}


def matmul_peak_flops(device: torch.device, dtype: torch.dtype, seconds: float = 0.5) -> float:
    """Best matmul throughput measured on the training device in the training dtype (the MFU denominator:
    a GPU's own bf16 peak on a GPU, this CPU's on a CPU), cached per process."""
    key = (str(device), dtype)
    if key not in _PEAK:
        size = 4096 if device.type == "cuda" else 1024
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        a @ b
        sync()
        best, start = 0.0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            t = time.perf_counter()
            a @ b
            sync()
            best = max(best, 2 * size**3 / (time.perf_counter() - t))
        _PEAK[key] = best
    return _PEAK[key]


def peak_memory_mb(runtime: Runtime) -> float:
    if runtime.device.type == "cuda":
        return torch.cuda.max_memory_allocated(runtime.device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Reporter:
    """metrics.jsonl always; TensorBoard / W&B / MLflow when report_to asks (checked before training)."""

    def __init__(self, recipe: TrainRecipe, out: Path, runtime: Runtime, config: dict):
        self.sinks: list[Any] = []
        self.finishers: list[Callable[[], Any]] = []
        self.main = runtime.main
        self.jsonl = JsonlWriter(out / "metrics.jsonl") if self.main else None
        if not self.main:
            return
        report = recipe.report_to if isinstance(recipe.report_to, list) else []
        for name in report:
            try:
                if name == "tensorboard":
                    from torch.utils.tensorboard import SummaryWriter

                    writer = SummaryWriter(str(out / "tensorboard"))
                    self.sinks.append(
                        lambda rec, s, w=writer: [w.add_scalar(k, v, s) for k, v in rec.items()]
                    )
                    self.finishers.append(writer.close)
                elif name == "wandb":
                    import wandb

                    wandb.init(project=os.environ.get("WANDB_PROJECT", "notus"), config=config, dir=str(out))
                    self.sinks.append(lambda rec, s: wandb.log(rec, step=s))
                    self.finishers.append(wandb.finish)
                elif name == "mlflow":
                    import mlflow

                    mlflow.start_run()
                    mlflow.log_params({k: str(v)[:250] for k, v in config.items()})
                    self.sinks.append(lambda rec, s: mlflow.log_metrics(rec, step=s))
                    self.finishers.append(mlflow.end_run)
            except ImportError:
                raise NotusError(
                    f"report_to: {name!r} is not installed; `pip install {name}` or drop it"
                ) from None

    def log(self, record: dict[str, float]) -> None:
        if not self.main:
            return
        self.jsonl.write(record)
        scalars = {k: v for k, v in record.items() if isinstance(v, int | float) and k != "step"}
        for sink in self.sinks:
            sink(scalars, record["step"])

    def close(self) -> None:
        if self.jsonl:
            self.jsonl.close()
        for finish in self.finishers:
            finish()


def _all_reduce_grads(params: list[torch.nn.Parameter], runtime: Runtime) -> None:
    if runtime.world == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset : offset + g.numel()].view_as(g).clone()
        offset += g.numel()


def _sum_metrics(sums: dict[str, float], runtime: Runtime) -> dict[str, float]:
    if runtime.world == 1:
        return sums
    keys = sorted(sums)
    t = torch.tensor([sums[k] for k in keys], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def _checkpoints(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("step-*[0-9]"), key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(out: Path, step: int, params: dict, optimizer, scheduler, limit: int | None) -> None:
    final = out / "checkpoints" / f"step-{step:07d}"
    tmp = final.with_name(final.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {
        "step": step,
        "params": {n: p.detach().clone() for n, p in params.items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
    }
    save_state(state, tmp / "state")
    os.replace(tmp, final)  # a folder without ".partial" is always complete
    for old in _checkpoints(out)[:-limit] if limit and limit > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(out: Path, params: dict, optimizer, scheduler) -> int:
    found = _checkpoints(out)
    if not found:
        return 0
    state = load_state(found[-1] / "state")
    missing = [name for name in params if name not in state.get("params", {})]
    if missing:
        raise NotusError(
            f"{found[-1]}: checkpoint of another model (no {missing[0]}); delete it or change output_dir"
        )
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(state["params"][name])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    return int(state["step"])


def checkpoint_interval(recipe: TrainRecipe, steps_per_epoch: int) -> int:
    """Steps between resumable checkpoints: save_strategy steps (save_steps) or epoch; 0 = none."""
    strategy = str(getattr(recipe.save_strategy, "value", recipe.save_strategy))
    if strategy == "epoch":
        return steps_per_epoch
    if strategy == "steps" and recipe.save_steps:
        steps = recipe.save_steps  # below 1: a ratio of the total steps, as in transformers
        return int(steps) if steps >= 1 else max(1, round(steps * steps_per_epoch))
    return 0


def train_loop(
    recipe: TrainRecipe,
    model: torch.nn.Module,
    lengths: list[int],
    step_fn: StepFn,
    flops_fn: Callable[[list[int]], float],
    out: Path,
    runtime: Runtime,
    config: dict,
) -> dict[str, Any]:
    """Run the optimizer steps; return {"metrics": [...], "train_runtime": s, "global_step": n}."""
    from tqdm.auto import tqdm

    per_rank = recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps
    global_batch = per_rank * runtime.world
    steps_per_epoch = len(lengths) // global_batch
    if steps_per_epoch == 0:
        raise NotusError(f"{len(lengths)} training rows are fewer than one global batch of {global_batch}")
    total = recipe.max_steps if recipe.max_steps > 0 else math.ceil(recipe.num_train_epochs * steps_per_epoch)
    named = {n: p for n, p in model.named_parameters() if p.requires_grad}
    params = list(named.values())
    optimizer = make_optimizer(recipe, params)
    scheduler = make_scheduler(recipe, optimizer, total)
    save_every = checkpoint_interval(recipe, steps_per_epoch)
    log_every = (
        recipe.logging_steps if recipe.logging_steps >= 1 else max(1, round(recipe.logging_steps * total))
    )
    start = load_checkpoint(out, named, optimizer, scheduler) if save_every else 0
    if runtime.main and (out / "metrics.jsonl").exists():  # drop records written after the checkpoint
        write_jsonl(
            out / "metrics.jsonl", [r for r in read_jsonl(out / "metrics.jsonl") if r["step"] <= start]
        )
    reporter = Reporter(recipe, out, runtime, config)
    dtype = torch.bfloat16 if recipe.bf16 else torch.float32
    peak = matmul_peak_flops(runtime.device, dtype) * runtime.world
    autocast = torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=recipe.bf16)
    bar = tqdm(
        total=total, initial=start, desc="train", disable=not runtime.main or bool(recipe.disable_tqdm)
    )
    window: dict[str, float] = {}
    t0 = time.perf_counter()
    window_start = t0
    orders: dict[int, list[list[int]]] = {}
    for step in range(start, total):
        epoch, k = divmod(step, steps_per_epoch)
        if epoch not in orders:
            orders = {epoch: epoch_order(lengths, global_batch, recipe.seed, epoch)}
        batch = orders[epoch][k]
        mine = batch[runtime.rank * per_rank : (runtime.rank + 1) * per_rank]
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            sums = step_fn(mine, batch)
        _all_reduce_grads(params, runtime)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, recipe.max_grad_norm))
        optimizer.step()
        scheduler.step()
        sums = _sum_metrics(sums, runtime)
        sums["flops"] = flops_fn(batch)
        sums["grad_norm"] = grad_norm * sums.get("n", 1.0)
        for key, value in sums.items():
            window[key] = window.get(key, 0.0) + value
        bar.update(1)
        if (step + 1) % int(log_every) == 0 or step + 1 == total:
            now = time.perf_counter()
            elapsed = now - window_start
            n = max(window.pop("n", 1.0), 1.0)
            tokens, flops = window.pop("tokens", 0.0), window.pop("flops", 0.0)
            record = {"step": step + 1, "epoch": round((step + 1) / steps_per_epoch, 4)}
            record.update({key: value / n for key, value in window.items()})
            record["learning_rate"] = scheduler.get_last_lr()[0]
            record["tokens_per_s"] = tokens / elapsed
            record["mfu"] = flops / elapsed / peak
            record["peak_memory_mb"] = peak_memory_mb(runtime)
            reporter.log(record)
            bar.set_postfix(loss=f"{record.get('loss', 0):.4f}")
            window, window_start = {}, now
        if save_every and (step + 1) % save_every == 0 and step + 1 < total and runtime.main:
            save_checkpoint(out, step + 1, named, optimizer, scheduler, recipe.save_total_limit)
    bar.close()
    reporter.close()
    if runtime.world > 1:
        torch.distributed.barrier()
    metrics = read_jsonl(out / "metrics.jsonl") if (out / "metrics.jsonl").exists() else []
    return {"metrics": metrics, "train_runtime": time.perf_counter() - t0, "global_step": total}
