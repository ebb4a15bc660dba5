"""Judges for AlpacaEval and MT-Bench: any OpenAI-compatible endpoint or a local model, cached and costed.

    judge = build_judge("gpt-4", base_url=None, cache_path="runs/eval/judge_cache.sqlite")   # api.openai.com
    judge = build_judge("smollm2-135m-instruct")        # no URL + a local model reference -> transformers
    judge.generate(conversations, params); print(judge.summary())

Every request goes through `CachedModel` (keyed by the exact request), so re-running an evaluation costs
nothing. Cost = prompt and completion tokens of the requests actually sent (cache misses) times the price
per 1,000 tokens in `PRICES_PER_1K` (USD, the providers' public list prices, input / output), or the
prices given with `--judge-price-in/--judge-price-out`; a local or unknown model costs 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notus.core.errors import NotusError
from notus.llm.cache import CachedModel
from notus.llm.contract import Completion, GenerationParams, Model, load_model

# USD per 1,000 tokens (input, output): OpenAI's public list prices for the judges these benchmarks use.
PRICES_PER_1K: dict[str, tuple[float, float]] = {
    "gpt-4": (0.03, 0.06),
    "gpt-4-0613": (0.03, 0.06),
    "gpt-4-0314": (0.03, 0.06),
    "gpt-4-1106-preview": (0.01, 0.03),
    "gpt-4-turbo": (0.01, 0.03),
    "gpt-4-turbo-2024-04-09": (0.01, 0.03),
    "gpt-4o": (0.0025, 0.01),
    "gpt-4o-mini": (0.00015, 0.0006),
    "gpt-3.5-turbo": (0.0005, 0.0015),
}


class LocalJudgeModel:
    """A local transformers judge. For one-token requests with `logprobs` (AlpacaEval 2) it returns the
    first token's top-5 log-probs in OpenAI's format from one forward pass; otherwise it generates."""

    def __init__(self, ref: str):
        self.inner = load_model(ref, backend="transformers")
        self.name = ref

    def generate(self, conversations: list, params: GenerationParams) -> list[Completion]:
        if not (params.logprobs and params.max_new_tokens == 1):
            return self.inner.generate(conversations, params)
        import torch

        tok, model = self.inner.tokenizer, self.inner.model
        out = []
        for conversation in conversations:
            text = tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
            ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"].to(model.device)
            with torch.no_grad():
                logps = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
            top = torch.topk(logps, 5)
            tops = [
                {"token": tok.decode([int(i)]), "logprob": float(v)} for v, i in zip(top.values, top.indices)
            ]
            first = dict(tops[0], top_logprobs=tops)
            out.append(Completion(tops[0]["token"], int(ids.shape[1]), 1, "length", [first]))
        return out


def is_local_reference(ref: str) -> bool:
    """True for the embedded model names and existing model folders (judged in process)."""
    from notus.llm.models import EMBEDDED

    return ref in EMBEDDED or Path(ref).expanduser().is_dir()


@dataclass
class JudgeUsage:
    model: str
    requests: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    price_known: bool


class Judge:
    """A cached judge model that counts tokens and money."""

    def __init__(
        self,
        model: Model,
        cache_path: str | Path,
        price_per_1k: tuple[float, float] | None,
        chunk_size: int = 8,
    ):
        # each chunk of cache misses is sent together (in parallel) and committed when it is back
        self.cached = CachedModel(model, cache_path, chunk_size=chunk_size)
        self.name = model.name
        self.price_per_1k = price_per_1k

    def generate(self, conversations: list, params: GenerationParams) -> list[Completion]:
        return self.cached.generate(conversations, params)

    def usage(self) -> JudgeUsage:
        s = self.cached.stats
        price_in, price_out = self.price_per_1k or (0.0, 0.0)
        cost = s.prompt_tokens / 1000 * price_in + s.completion_tokens / 1000 * price_out
        return JudgeUsage(
            self.name,
            s.hits + s.misses,
            s.hits,
            s.prompt_tokens,
            s.completion_tokens,
            cost,
            self.price_per_1k is not None,
        )

    def summary(self) -> str:
        u = self.usage()
        price = f"${u.cost_usd:.4f}" if u.price_known else "$0 (no price known for this judge)"
        return (
            f"judge {u.model}: {u.requests} requests ({u.cache_hits} from cache), "
            f"{u.prompt_tokens} prompt + {u.completion_tokens} completion tokens sent, cost {price}"
        )

    def close(self) -> None:
        self.cached.close()


def build_judge(
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | Path = "judge_cache.sqlite",
    concurrency: int = 8,
    max_retries: int = 6,
    price_per_1k: tuple[float, float] | None = None,
) -> Judge:
    """An OpenAI-compatible judge when a URL is given or the model is not local, else a local one."""
    if base_url or not is_local_reference(model):
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not base_url and not key:
            raise NotusError(
                f"judge {model!r} is not a local model and no --judge-base-url was given, so it would be "
                "called at api.openai.com: set OPENAI_API_KEY or --judge-api-key, or pass "
                "--judge-base-url for a vLLM/TGI/`notus serve` endpoint, or a local model "
                "(e.g. --judge-model smollm2-135m-instruct)"
            )
        inner = load_model(
            model,
            backend="openai",
            base_url=base_url,
            api_key=key or "",
            concurrency=concurrency,
            max_retries=max_retries,
        )
        price = price_per_1k or PRICES_PER_1K.get(model)
    else:
        inner = LocalJudgeModel(model)
        price = price_per_1k or (0.0, 0.0)
    return Judge(inner, cache_path, price, chunk_size=max(8, 4 * concurrency))


def judge_from_args(args: Any, output_dir: Path) -> Judge:
    """The judge described by the CLI's `--judge-*` options (cache in the output folder by default)."""
    price = (args.judge_price_in, args.judge_price_out or 0.0) if args.judge_price_in is not None else None
    return build_judge(
        args.judge_model,
        base_url=args.judge_base_url,
        api_key=args.judge_api_key,
        cache_path=args.judge_cache or Path(output_dir) / "judge_cache.sqlite",
        concurrency=args.judge_concurrency,
        max_retries=args.judge_max_retries,
        price_per_1k=price,
    )


def answerer_from_args(model: str, base_url: str | None) -> Model:
    """The model under evaluation: local (transformers) or served behind an OpenAI-compatible URL."""
    if base_url:
        return load_model(model, backend="openai", base_url=base_url)
    return load_model(model)
