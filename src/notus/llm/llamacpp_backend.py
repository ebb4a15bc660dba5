"""llama.cpp backend (llama-cpp-python): GGUF models on CPU, with the GGUF's own chat template.

    model = load_model("smollm2-135m-instruct", backend="llamacpp")          # the embedded GGUF
    model = load_model("path/to/model.Q4_K_M.gguf", backend="llamacpp", n_ctx=8192, n_threads=4)
    model = load_model(..., backend="llamacpp", json_mode=True)             # any JSON object
    model = load_model(..., backend="llamacpp", json_schema={...})          # JSON following a schema
    model = load_model(..., backend="llamacpp", grammar='root ::= "yes" | "no"')  # any GBNF grammar

Generation runs on the serving engine (`notus.serve.llamacpp_engine`): all conversations are decoded
together, up to `max_batch_size` sequences in one llama.cpp batch, so `notus feedback` and `notus eval`
get the same engine as `notus serve`. Structured output (json_mode / json_schema, or a GBNF `grammar`)
is a GBNF grammar (llama-cpp-python's JSON grammars for the first two), applied by each sequence's
llama.cpp sampler. Only logprobs go through llama-cpp-python's `create_chat_completion`, one request
after another, ordered so that conversations sharing a prefix (system prompt, rubric) follow each other
and reuse the evaluated prefix from its KV cache. Install with `pip install llama-cpp-python`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from notus.core.errors import ModelNotFoundError, NotusError
from notus.core.types import Conversation
from notus.llm.contract import BACKENDS, Completion, GenerationParams
from notus.llm.models import EMBEDDED, embedded_gguf_path

DEFAULT_SEED = 42


def default_threads() -> int:
    """llama.cpp's CPU threads: `NOTUS_THREADS`, else one per physical core (psutil, which accelerate
    needs too). llama.cpp's threads spin at each barrier, so never more than the cores; llama-cpp-python's
    own default, half the logical CPUs, is half the cores on a machine without SMT (measured on 2 cores:
    8 feedback ratings in JSON mode, 100 s with 1 thread, 54 s with 2)."""
    import psutil

    return (
        int(os.environ.get("NOTUS_THREADS", 0))
        or psutil.cpu_count(logical=False)
        or max(1, (os.cpu_count() or 2) // 2)
    )


def gguf_path(ref: str) -> Path:
    """The GGUF file behind a reference: an embedded model's name or a path to a .gguf file."""
    if ref in EMBEDDED:
        return embedded_gguf_path(ref)
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path
    if path.is_dir() and (found := sorted(path.glob("*.gguf"))):
        return found[0]
    raise ModelNotFoundError(
        f"llama.cpp needs a GGUF file: {ref!r} is neither an embedded model ({', '.join(EMBEDDED)}) "
        f"nor a .gguf file or a folder holding one; use backend 'transformers' for safetensors folders"
    )


class LlamaCppModel:
    def __init__(
        self,
        ref: str,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        json_mode: bool = False,
        json_schema: dict | None = None,
        grammar: str | None = None,
        verbose: bool = False,
        max_batch_size: int = 8,
    ):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise NotusError(
                "the llamacpp backend needs llama-cpp-python: `pip install llama-cpp-python` "
                "(or `pip install 'notus[llamacpp]'`)"
            ) from None
        from llama_cpp import llama_grammar

        self.name = ref
        self.grammar = grammar or ""  # GBNF text of the constrained output; "" = free text
        if json_schema is not None:
            self.grammar = llama_grammar.json_schema_to_gbnf(json.dumps(json_schema))
        elif json_mode:
            self.grammar = llama_grammar.JSON_GBNF
        threads = n_threads or default_threads()
        self.threads, self.n_ctx, self.max_batch_size = threads, n_ctx, max_batch_size
        self._engine = None  # the batching engine, made on the first plain `generate`
        path = gguf_path(ref)
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=n_batch,
                seed=DEFAULT_SEED,
                verbose=verbose,
            )
        except ValueError as exc:  # llama.cpp could not read the file
            raise ModelNotFoundError(
                f"{path}: not a GGUF model llama.cpp can load ({exc}); download or convert it again"
            ) from None

    def _one(self, conversation: Conversation, params: GenerationParams) -> Completion:
        kwargs = dict(
            messages=conversation,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            stop=params.stop or None,
            seed=params.seed if params.seed is not None else DEFAULT_SEED,
        )
        if self.grammar:
            from llama_cpp import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(self.grammar, verbose=False)
        if params.logprobs:
            kwargs.update(logprobs=True, top_logprobs=5)
        try:
            out = self.llm.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            raise NotusError(
                f"llama.cpp refused a request: {exc} (raise n_ctx or shorten the prompt)"
            ) from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        logprobs = (choice.get("logprobs") or {}).get("content") if params.logprobs else None
        return Completion(
            text=(choice["message"].get("content") or "").strip(),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            logprobs=logprobs,
        )

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        if not params.logprobs:
            return self._batched(conversations, params)
        order = sorted(range(len(conversations)), key=lambda i: json.dumps(conversations[i]))
        out: list[Completion | None] = [None] * len(conversations)
        for i in order:
            out[i] = self._one(conversations[i], params)
        return out  # type: ignore[return-value]

    def _batched(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        """All conversations through the llama.cpp batching engine; waits for every answer."""
        import queue

        from notus.serve.engine import Failed, Finished, TextDelta
        from notus.serve.limits import ServeLimits
        from notus.serve.llamacpp_engine import GrammarParams, LlamaCppEngine

        if self._engine is None:
            limits = ServeLimits(
                max_batch_size=self.max_batch_size, max_queue=1 << 30, max_prompt_tokens=self.n_ctx - 1
            )
            self._engine = LlamaCppEngine(
                self.name, self.name, limits, self.threads, llm=self.llm, n_ctx=self.n_ctx
            )
        sampling = GrammarParams(
            max_new_tokens=params.max_new_tokens, temperature=params.temperature, top_p=params.top_p,
            stop=list(params.stop), seed=params.seed if params.seed is not None else DEFAULT_SEED,
            grammar=self.grammar,
        )  # fmt: skip
        events: list[queue.SimpleQueue] = []
        for conversation in conversations:
            events.append(queue.SimpleQueue())
            self._engine.submit(conversation, sampling, events[-1].put)
        out = []
        for q in events:
            text = ""
            while not isinstance(event := q.get(), Finished):
                if isinstance(event, Failed):
                    raise NotusError(f"llama.cpp generation failed: {event.message}")
                if isinstance(event, TextDelta):
                    text += event.text
            out.append(
                Completion(text.strip(), event.prompt_tokens, event.completion_tokens, event.finish_reason)
            )
        return out


BACKENDS.register("llamacpp")(LlamaCppModel)
