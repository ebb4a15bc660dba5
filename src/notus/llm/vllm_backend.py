"""vLLM offline engine backend, for GPU machines where `vllm` is installed.

    model = load_model("alignment-handbook/zephyr-7b-sft-full", backend="vllm", tensor_parallel_size=2)

All conversations of a call go to `LLM.chat` at once (vLLM batches them continuously on the GPU),
each with the model's own chat template. Extra options are passed to `vllm.LLM(...)`
(`tensor_parallel_size`, `gpu_memory_utilization`, `max_model_len`, `dtype`, ...).
"""

from __future__ import annotations

from typing import Any

from notus.core.errors import NotusError
from notus.core.types import Conversation
from notus.llm.contract import BACKENDS, Completion, GenerationParams
from notus.llm.models import resolve_model


class VLLMModel:
    def __init__(self, ref: str, **engine_options: Any):
        try:
            from vllm import LLM
        except ImportError:
            raise NotusError(
                "the vllm backend needs vLLM on a GPU machine: `pip install vllm`; on CPU use the "
                "'transformers' or 'llamacpp' backend, or point the 'openai' backend at a vLLM server"
            ) from None
        self.name = ref
        self.llm = LLM(model=str(resolve_model(ref)), **engine_options)

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        from vllm import SamplingParams

        sampling = SamplingParams(
            n=1,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            stop=params.stop or None,
            seed=params.seed,
            logprobs=5 if params.logprobs else None,
        )
        results = self.llm.chat(conversations, sampling_params=sampling, use_tqdm=False)
        out = []
        for result in results:
            best = result.outputs[0]
            out.append(
                Completion(
                    text=best.text.strip(),
                    prompt_tokens=len(result.prompt_token_ids or []),
                    completion_tokens=len(best.token_ids),
                    finish_reason="length" if best.finish_reason == "length" else "stop",
                )
            )
        return out


BACKENDS.register("vllm")(VLLMModel)
