"""Serve any object following the model contract (`notus.llm.contract.Model`): llama.cpp, OpenAI-HTTP, vLLM.

    engine = ContractEngine(load_model("model.gguf", backend="llamacpp"), "my-model", ServeLimits())

`generate()` is not streaming, so each answer arrives as a single chunk; waiting requests with equal
parameters are batched into one `generate()` call. The waiting queue and events are the batching engine's.
"""

from __future__ import annotations

import collections
from dataclasses import astuple

from notus.llm.contract import Model
from notus.serve.engine import (
    Failed,
    Finished,
    InvalidPromptError,
    Job,
    PromptTooLongError,
    QueuedEngine,
    SamplingParams,
    TextDelta,
)
from notus.serve.limits import CHARS_PER_TOKEN, ServeLimits


class ContractEngine(QueuedEngine):
    """Serve any model-contract object; requests with equal parameters share one `generate()` call."""

    def __init__(self, model: Model, model_id: str, limits: ServeLimits):
        super().__init__(model_id, limits)
        self.model = model
        self.tokenizer = getattr(model, "tokenizer", None)
        self._thread.start()

    def _make_job(self, conversation: list[dict], params: SamplingParams, emit) -> Job:
        if self.tokenizer is not None:
            import jinja2

            try:
                text = self.tokenizer.apply_chat_template(
                    conversation, tokenize=False, add_generation_prompt=True
                )
            except jinja2.TemplateError as exc:
                raise InvalidPromptError(f"the model's chat template rejected the messages: {exc}") from exc
            n = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        else:
            n = sum(len(m["content"]) for m in conversation) // CHARS_PER_TOKEN
        if n > self.limits.max_prompt_tokens:
            raise PromptTooLongError(
                f"the prompt has about {n} tokens; this server accepts at most {self.limits.max_prompt_tokens}"
            )
        return Job(conversation, n, params, emit)

    def _loop(self) -> None:
        while (jobs := self._take(self.limits.max_batch_size, busy=False)) is not None:
            groups: dict[tuple, list[Job]] = collections.defaultdict(list)
            for job in jobs:
                groups[repr(astuple(job.params))].append(job)
            for group in groups.values():
                self.running = len(group)
                try:
                    outs = self.model.generate([job.prompt for job in group], group[0].params)
                except Exception as exc:
                    for job in group:
                        job.emit(Failed(f"generation failed: {type(exc).__name__}: {exc}"))
                    continue
                for job, out in zip(group, outs):
                    if out.text:
                        job.emit(TextDelta(out.text))
                    job.emit(
                        Finished(
                            out.finish_reason, out.prompt_tokens or job.prompt_tokens, out.completion_tokens
                        )
                    )
            self.running = 0
