"""Serving engines: continuous batching on a local transformers model, or any model-contract object. No HTTP.

    engine = load_engine("smollm2-135m-instruct", ServeLimits())
    job = engine.submit([{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=32), emit=print)
    ...                                   # emit receives TextDelta..., then Finished (or Failed)
    engine.close()

`BatchingEngine`: one background thread owns the model. Each iteration it (1) admits waiting requests:
batched prefill with left padding, their KV cache merged into the running batch's; (2) runs one decode step
for every running row on the shared KV cache (`past_key_values`), sampling each row with its own
temperature / top_p / seed / penalties; (3) retires rows that hit EOS, a stop string or max_tokens, or
whose client went away. New requests join at the next step (continuous batching); the waiting queue is
bounded (`QueueFullError` -> HTTP 429). Other backends (llama.cpp, HTTP, vLLM) are served through the
model contract by `ContractEngine` (contract_engine.py), with the same job and event types.
"""

from __future__ import annotations

import collections
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from notus.core.errors import NotusError
from notus.llm.contract import GenerationParams
from notus.serve.limits import GATHER_WINDOW_S, MIN_SAMPLING_TEMPERATURE, ServeLimits


class QueueFullError(NotusError):
    """The waiting queue is at its limit (HTTP 429)."""


class PromptTooLongError(NotusError):
    """The prompt is longer than the server's limit (HTTP 413)."""


class InvalidPromptError(NotusError):
    """The chat template rejected the conversation (HTTP 400)."""


@dataclass
class SamplingParams(GenerationParams):
    frequency_penalty: float = 0.0  # OpenAI semantics: logit -= f * count + p * (count > 0)
    presence_penalty: float = 0.0


@dataclass
class TextDelta:
    text: str


@dataclass
class Finished:
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Failed:
    message: str


Event = TextDelta | Finished | Failed


class Job:
    """One request inside an engine; `cancel()` makes the engine drop it at its next step."""

    def __init__(self, prompt: list[int] | list[dict], prompt_tokens: int, params: SamplingParams, emit):
        self.prompt, self.prompt_tokens, self.params, self._emit = prompt, prompt_tokens, params, emit
        self.ids: list[int] = []  # generated token ids (without EOS)
        self.generated = 0  # tokens sampled, EOS included (the usage count)
        self.sent = 0  # characters of text already emitted
        self.finish: str | None = None
        self.cancelled = False
        self.generator = None  # torch.Generator for sampling, set by the engine

    def cancel(self) -> None:
        self.cancelled = True

    def emit(self, event: Event) -> None:
        try:
            self._emit(event)
        except RuntimeError:  # the consumer's event loop is gone (server shutting down)
            self.cancelled = True


class QueuedEngine:
    """The bounded waiting queue and worker thread shared by both engines."""

    def __init__(self, model_id: str, limits: ServeLimits):
        self.model_id, self.limits = model_id, limits
        self._waiting: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self.running = 0
        self._thread = threading.Thread(target=self._loop, name="notus-engine", daemon=True)

    def submit(self, conversation: list[dict], params: SamplingParams, emit: Callable[[Event], None]) -> Job:
        job = self._make_job(conversation, params, emit)
        with self._cond:
            if self._closed:
                raise QueueFullError("the server is shutting down")
            if len(self._waiting) >= self.limits.max_queue:  # clients that left free their places first
                self._waiting = collections.deque(j for j in self._waiting if not j.cancelled)
            if len(self._waiting) >= self.limits.max_queue:
                raise QueueFullError(
                    f"{len(self._waiting)} requests are already waiting (limit --max-queue "
                    f"{self.limits.max_queue}); retry shortly"
                )
            self._waiting.append(job)
            self._cond.notify()
        return job

    def stats(self) -> dict[str, int]:
        return {"waiting": len(self._waiting), "running": self.running}

    def close(self) -> None:
        """Stop the worker; every request not finished yet gets a `Failed` event."""
        with self._cond:
            self._closed = True
            waiting, self._waiting = list(self._waiting), collections.deque()
            self._cond.notify_all()
        for job in waiting:
            job.emit(Failed("the server is shutting down"))
        self._thread.join(timeout=10)

    def _take(self, free: int, busy: bool) -> list[Job] | None:
        """Up to `free` waiting jobs (blocks while there is nothing to do); None once closed."""
        with self._cond:
            while not self._waiting and not busy and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            if not busy and len(self._waiting) < free:  # idle: let simultaneous arrivals share one batch
                self._cond.wait_for(lambda: len(self._waiting) >= free or self._closed, GATHER_WINDOW_S)
            jobs = [self._waiting.popleft() for _ in range(min(free, len(self._waiting)))]
        return [job for job in jobs if not job.cancelled]

    def _loop(self) -> None:
        raise NotImplementedError

    def _make_job(self, conversation: list[dict], params: SamplingParams, emit) -> Job:
        raise NotImplementedError

    def _advance(self, jobs: list[Job], tokens: list[int]) -> None:
        """Give each job its new token (both engines): stream text, check EOS / stop strings / length; then retire."""
        for job, token in zip(jobs, tokens):
            if job.cancelled:
                continue
            job.ids.append(token)
            job.generated += 1
            if token in self.eos_ids:
                job.ids.pop()
                job.finish = "stop"
            elif (
                len(job.ids) >= job.params.max_new_tokens
                or job.prompt_tokens + len(job.ids) >= self.max_context
            ):
                job.finish = "length"
            self._stream_text(job)
            if job.finish:
                job.emit(Finished(job.finish, job.prompt_tokens, job.generated))
        self._retire()

    def _stream_text(self, job: Job) -> None:
        text = self._text(job.ids)
        hits = [i for i in (text.find(s) for s in job.params.stop) if i >= 0]
        if hits:
            text, job.finish = text[: min(hits)], "stop"
        elif not job.finish:
            if text.endswith("\ufffd"):  # a multi-byte character is not complete yet
                return
            text = text[: len(text) - _stop_prefix_len(text, job.params.stop)]
        if len(text) > job.sent:
            job.emit(TextDelta(text[job.sent :]))
            job.sent = len(text)

    def _text(self, ids: list[int]) -> str:
        raise NotImplementedError

    def _retire(self) -> None:
        raise NotImplementedError


class BatchingEngine(QueuedEngine):
    """Continuous batching with a shared, left-padded KV cache on a transformers causal LM."""

    def __init__(self, model, tokenizer, model_id: str, limits: ServeLimits):
        import torch

        super().__init__(model_id, limits)
        self.model, self.tokenizer, self.torch = model, tokenizer, torch
        self.device = model.device
        eos = model.generation_config.eos_token_id
        eos = [*(eos if isinstance(eos, list) else [eos]), tokenizer.eos_token_id]
        self.eos_ids = {token for token in eos if token is not None}
        self.max_context = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        self.rows: list[Job] = []
        self.tokenizer_lock = threading.Lock()  # request threads encode while the engine decodes
        self.cache = self.mask = self.pending = None  # KV cache, [B, T] attention mask, [B] next input ids
        self._check_cache()
        self._thread.start()

    def _make_job(self, conversation: list[dict], params: SamplingParams, emit) -> Job:
        import jinja2

        try:
            with self.tokenizer_lock:
                text = self.tokenizer.apply_chat_template(
                    conversation, tokenize=False, add_generation_prompt=True
                )
                ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        except jinja2.TemplateError as exc:
            raise InvalidPromptError(f"the model's chat template rejected the messages: {exc}") from exc
        limit = min(self.limits.max_prompt_tokens, self.max_context - 1)
        if len(ids) > limit:
            raise PromptTooLongError(f"the prompt has {len(ids)} tokens; this server accepts at most {limit}")
        job = Job(ids, len(ids), params, emit)
        seed = params.seed if params.seed is not None else random.getrandbits(63)
        job.generator = self.torch.Generator(self.device).manual_seed(seed)
        return job

    def _loop(self) -> None:
        torch = self.torch
        while (
            new := self._take(self.limits.max_batch_size - len(self.rows), busy=bool(self.rows))
        ) is not None:
            try:
                with torch.inference_mode():
                    if new:
                        self._prefill(new)
                    if self.rows:
                        self._decode()
            except Exception as exc:  # a failing forward must not kill the server: fail the batch, go on
                for job in {id(j): j for j in self.rows + new}.values():
                    job.emit(Failed(f"generation failed: {type(exc).__name__}: {exc}"))
                self.rows, self.cache, self.mask, self.pending = [], None, None, None
            self.running = len(self.rows)
        for job in self.rows:  # closed while generating
            job.emit(Failed("the server is shutting down"))

    def _forward(self, ids, mask, positions, cache):
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
            use_cache=True, logits_to_keep=1,
        )  # fmt: skip
        return out.logits[:, -1, :].float()

    def _new_cache(self):
        from transformers import DynamicCache

        # Without a config every layer keeps all its keys/values (also sliding-window layers, such as
        # Mistral/Zephyr/Notus-7B's: their mask still applies the window), so rows can be padded and merged.
        return DynamicCache()

    def _check_cache(self) -> None:
        """One tiny forward: the model must fill our cache with plain [batch, heads, length, dim] layers."""
        from transformers.cache_utils import DynamicLayer

        torch, cache = self.torch, self._new_cache()
        ids = torch.tensor([[self.tokenizer.eos_token_id or 0] * 2], device=self.device)
        with torch.inference_mode():
            self._forward(ids, torch.ones_like(ids), torch.arange(2, device=self.device)[None], cache)
        if not cache.layers or any(
            type(lay) is not DynamicLayer or lay.keys.dim() != 4 for lay in cache.layers
        ):
            raise NotusError(f"{type(self.model).__name__} does not use a plain key/value cache")

    def _prefill(self, jobs: list[Job]) -> None:
        torch = self.torch
        width = max(len(job.prompt) for job in jobs)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([[pad] * (width - len(j.prompt)) + j.prompt for j in jobs], device=self.device)
        mask = torch.tensor(
            [[0] * (width - len(j.prompt)) + [1] * len(j.prompt) for j in jobs], device=self.device
        )
        cache = self._new_cache()
        logits = self._forward(ids, mask, (mask.cumsum(-1) - 1).clamp(min=0), cache)
        self._merge(jobs, cache, mask, self._sample(logits, jobs))

    def _merge(self, jobs: list[Job], cache, mask, tokens) -> None:
        """Append rows (their KV cache left-padded to a common length) to the running batch."""
        torch, F = self.torch, self.torch.nn.functional
        if self.cache is not None:
            width = max(self.mask.shape[1], mask.shape[1])
            for old, new in zip(self.cache.layers, cache.layers):
                for name in ("keys", "values"):
                    a, b = getattr(old, name), getattr(new, name)
                    a = F.pad(a, (0, 0, width - a.shape[2], 0))
                    b = F.pad(b, (0, 0, width - b.shape[2], 0))
                    setattr(old, name, torch.cat([a, b]))
            cache = self.cache
            mask = torch.cat(
                [F.pad(self.mask, (width - self.mask.shape[1], 0)), F.pad(mask, (width - mask.shape[1], 0))]
            )
            tokens = torch.cat([self.pending, tokens])
        self.rows, self.cache, self.mask, self.pending = self.rows + jobs, cache, mask, tokens
        self._advance(jobs, tokens[-len(jobs) :].tolist())

    def _decode(self) -> None:
        torch = self.torch
        positions = self.mask.sum(-1, keepdim=True)  # real tokens so far = position of the next one
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.rows), 1)], dim=1)
        logits = self._forward(self.pending[:, None], self.mask, positions, self.cache)
        self.pending = self._sample(logits, self.rows)
        self._advance(self.rows, self.pending.tolist())

    def _sample(self, logits, jobs: list[Job]):
        """One next token per row. A row whose sampling fails is failed alone; the others go on."""
        out = logits.argmax(-1)
        for i, job in enumerate(jobs):
            try:
                token = self._sample_row(logits[i], job)
            except RuntimeError as exc:  # e.g. probabilities that are not finite: only this request fails
                job.emit(Failed(f"sampling failed for this request: {exc}"))
                job.cancel()
                continue
            if token is not None:
                out[i] = token
        return out

    def _sample_row(self, logits, job: Job):
        """The sampled token id for one row, or None to keep the greedy one."""
        torch, p = self.torch, job.params
        token = None
        if (p.frequency_penalty or p.presence_penalty) and job.ids:
            counts = torch.bincount(torch.tensor(job.ids, device=self.device), minlength=logits.shape[0])
            logits = logits - (
                p.frequency_penalty * counts[: logits.shape[0]] + p.presence_penalty * (counts > 0)
            )
            token = logits.argmax()
        if p.temperature < MIN_SAMPLING_TEMPERATURE:  # 0, or so small that logits / T overflows: greedy
            return token
        probs = torch.softmax(logits / p.temperature, dim=-1)
        if p.top_p < 1.0:  # keep the smallest set of most likely tokens whose mass reaches top_p
            sorted_probs, order = probs.sort(descending=True)
            keep = sorted_probs.cumsum(0) - sorted_probs < p.top_p
            keep[0] = True  # the most likely token always stays (a tiny top_p rounds to 0 in float32)
            probs = torch.zeros_like(probs).scatter_(0, order[keep], sorted_probs[keep])
        if not bool(torch.isfinite(probs).all()):
            raise RuntimeError("the sampling probabilities are not finite")
        return torch.multinomial(probs, 1, generator=job.generator)[0]

    def _text(self, ids: list[int]) -> str:
        with self.tokenizer_lock:
            return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _retire(self) -> None:
        keep = [i for i, job in enumerate(self.rows) if not job.finish and not job.cancelled]
        if len(keep) == len(self.rows):
            return
        if not keep:
            self.rows, self.cache, self.mask, self.pending = [], None, None, None
            return
        index = self.torch.tensor(keep, device=self.device)
        self.mask, self.pending = self.mask[index], self.pending[index]
        start = int(self.mask.any(0).nonzero()[0])  # columns that are padding in every remaining row go
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index, :, start:], layer.values[index, :, start:]
        self.rows = [self.rows[i] for i in keep]


def _stop_prefix_len(text: str, stops: list[str]) -> int:
    """Length of the longest end of `text` that could still grow into a stop string (held back)."""
    return max(
        (n for s in stops for n in range(min(len(s) - 1, len(text)), 0, -1) if s.startswith(text[-n:])),
        default=0,
    )


def load_engine(ref: str, limits: ServeLimits, backend: str = "transformers", model_id: str | None = None,
                dtype: str = "float32", threads: int | None = None, **options: object) -> QueuedEngine:  # fmt: skip
    """The engine for a model reference: batching for transformers and llama.cpp models, the contract
    otherwise."""
    model_id = model_id or ref.rstrip("/").split("/")[-1]
    if backend == "llamacpp" and not options:
        from notus.serve.llamacpp_engine import LlamaCppEngine

        return LlamaCppEngine(ref, model_id, limits, n_threads=threads)
    if backend != "transformers":
        from notus.llm.contract import load_model
        from notus.serve.contract_engine import ContractEngine

        return ContractEngine(load_model(ref, backend=backend, **options), model_id, limits)
    import torch

    from notus.llm.models import load_pretrained

    tokenizer, model = load_pretrained(ref, dtype)
    if tokenizer.chat_template is None:
        raise NotusError(f"{ref!r} has no chat template in its tokenizer; serve an instruct/chat model")
    model = model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    try:
        return BatchingEngine(model, tokenizer, model_id, limits)
    except NotusError as exc:  # an unusual cache (e.g. state-space layers): serve through the contract
        # (safe: the safetensors-only load above succeeded, so these same safetensors files are reloaded)
        from notus.llm.transformers_backend import TransformersModel
        from notus.serve.contract_engine import ContractEngine

        print(
            f"notus serve: {exc}; serving it without continuous batching (one chunk per answer)", flush=True
        )
        return ContractEngine(TransformersModel(ref, dtype=dtype), model_id, limits)
