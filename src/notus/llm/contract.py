"""One small model contract for every local or remote model.

    model = load_model("smollm2-135m-instruct")            # local transformers
    outs = model.generate([[{"role": "user", "content": "Hi"}]], GenerationParams(max_new_tokens=32))

Generators, judges, evaluation and the server all call `generate(conversations, params)`. Backends:
`transformers` (batched, local), `openai` (any OpenAI-compatible HTTP endpoint), and further ones
registered in `BACKENDS` (llama.cpp, vLLM). `CachedModel` (notus.llm.cache) wraps any of them with
a persistent request cache. A fake model for tests only needs a `generate` method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from notus.core.registry import Registry
from notus.core.types import Conversation


@dataclass
class GenerationParams:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    logprobs: bool = False


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" or "length"
    logprobs: list[dict] | None = None  # OpenAI-style per-token {token, logprob, top_logprobs}, when asked


@runtime_checkable
class Model(Protocol):
    name: str

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]: ...


BACKENDS: Registry[Callable[..., Model]] = Registry("model backend")


def load_model(ref: str, backend: str = "transformers", **options: object) -> Model:
    """Build a model from a reference (see notus.llm.models) with a backend chosen by name."""
    import notus.llm.llamacpp_backend  # noqa: F401  (registers "llamacpp")
    import notus.llm.openai_backend  # noqa: F401  (registers "openai")
    import notus.llm.transformers_backend  # noqa: F401  (registers "transformers")
    import notus.llm.vllm_backend  # noqa: F401  (registers "vllm")

    return BACKENDS.get(backend)(ref, **options)
