"""Continuous batching on llama.cpp: every running request is one sequence of one llama.cpp context.

    engine = LlamaCppEngine("model.q4_k_m.gguf", "my-model", ServeLimits())     # or the embedded name
    job = engine.submit([{"role": "user", "content": "Hi"}], SamplingParams(max_new_tokens=32), emit=print)

One background thread owns the context (llama-cpp-python's low-level bindings of llama.cpp's batch API,
as llama.cpp's own server uses it). Each iteration builds one `llama_batch` holding the prompts of the
requests admitted now (prefill, logits for their last token only) and the last sampled token of every
running request (decode), all with their own sequence id, and runs one `llama_decode`: concurrent
requests are decoded together. Each request has its own llama.cpp sampler chain (penalties -> temperature
-> top_p -> seeded draw, or greedy). Tokens stream out as they come, through the same EOS / stop string /
length / usage logic as the transformers engine (`QueuedEngine._advance`). A finished or abandoned
request's sequence keeps its keys/values: a new request takes the free sequence sharing the longest
prefix with its prompt (system prompt, earlier turns) and evaluates only the rest, as llama.cpp's
server does. The chat template is the GGUF's
(`tokenizer.chat_template`), rendered by llama-cpp-python's sandboxed Jinja2 formatter.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from notus.core.errors import ModelNotFoundError, NotusError
from notus.serve.engine import (
    Failed,
    InvalidPromptError,
    Job,
    PromptTooLongError,
    QueuedEngine,
    SamplingParams,
)
from notus.serve.limits import MIN_SAMPLING_TEMPERATURE, PREFILL_TOKENS_PER_STEP, ServeLimits

SEED_MASK = 0xFFFFFFFF  # llama.cpp samplers take 32-bit seeds


@dataclass
class GrammarParams(SamplingParams):
    """Sampling constrained by a GBNF grammar (llama.cpp's structured output: JSON mode, a JSON schema)."""

    grammar: str = ""


class LlamaCppEngine(QueuedEngine):
    def __init__(self, ref: str, model_id: str, limits: ServeLimits, n_threads: int | None = None,
                 llm=None, n_ctx: int | None = None):  # fmt: skip
        """`llm`: an already loaded `llama_cpp.Llama` of `ref` to share; `n_ctx`: tokens per sequence
        (default: prompt + completion limits, at most the model's training context)."""
        from llama_cpp import Llama, llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from notus.llm.llamacpp_backend import default_threads, gguf_path

        super().__init__(model_id, limits)
        self.lib = llama_cpp
        path = gguf_path(ref)
        threads = n_threads or default_threads()
        try:  # the model, its tokenizer and metadata; its own small context is not used for decoding
            self.llm = llm or Llama(
                model_path=str(path), n_ctx=64, n_batch=64, n_threads=threads, verbose=False
            )
        except ValueError as exc:
            raise ModelNotFoundError(f"{path}: not a GGUF model llama.cpp can load ({exc})") from None
        meta = self.llm.metadata
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise NotusError(f"{path} has no chat template (tokenizer.chat_template); export a chat model")
        vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.vocab = vocab
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        piece = lambda t: self.llm.detokenize([t], special=True).decode("utf-8", "replace")  # noqa: E731
        self.formatter = Jinja2ChatFormatter(template, eos_token=piece(eos), bos_token=piece(bos))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.bos = bos
        self.eos_ids = {t for t in range(self.llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)}
        n_seq = limits.max_batch_size
        train_ctx = llama_cpp.llama_model_n_ctx_train(self.llm.model)
        self.max_context = min(train_ctx, n_ctx or limits.max_prompt_tokens + limits.max_completion_tokens)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = self.max_context * n_seq
        params.n_batch = limits.max_prompt_tokens + n_seq  # a whole prompt plus every running row's token
        params.n_ubatch = min(512, params.n_batch)
        params.n_seq_max = n_seq
        params.kv_unified = True  # one pool of cells: ragged sequences decode in one ubatch
        params.n_threads = params.n_threads_batch = threads
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as llama-cpp-python's Llama: same tokens (with it on, batched answers part from single ones more often)
        self.ctx = llama_cpp.llama_init_from_model(self.llm.model, params)
        if not self.ctx:
            raise NotusError(f"llama.cpp could not create a context of {params.n_ctx} tokens for {path}")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_batch = params.n_batch
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.rows: list[Job] = []
        self.free_seqs = list(range(n_seq))
        self.cached: dict[int, list[int]] = {}  # sequence id -> the tokens whose keys/values it holds
        self.tokenizer_lock = threading.Lock()
        self.grammars: set[str] = set()  # grammars that llama.cpp parsed
        self._thread.start()

    # -- requests ---------------------------------------------------------------------------------------
    def _make_job(self, conversation: list[dict], params: SamplingParams, emit) -> Job:
        import jinja2

        try:
            prompt = self.formatter(messages=conversation).prompt
        except jinja2.TemplateError as exc:
            raise InvalidPromptError(f"the model's chat template rejected the messages: {exc}") from exc
        with self.tokenizer_lock:
            ids = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if self.add_bos and (not ids or ids[0] != self.bos):
            ids = [self.bos, *ids]
        limit = min(
            self.limits.max_prompt_tokens, self.max_context - 1, self.n_batch - self.limits.max_batch_size
        )
        if len(ids) > limit:
            raise PromptTooLongError(f"the prompt has {len(ids)} tokens; this server accepts at most {limit}")
        job = Job(ids, len(ids), params, emit)
        job.seq, job.position, job.next_token = -1, 0, 0  # set when admitted (sequence id, KV position)
        job.seed = (params.seed if params.seed is not None else random.getrandbits(32)) & SEED_MASK
        if getattr(params, "grammar", "") and params.grammar not in self.grammars:  # parse it once, here
            check = self.lib.llama_sampler_init_grammar(self.vocab, params.grammar.encode(), b"root")
            if not check:
                raise InvalidPromptError("llama.cpp could not parse the grammar")
            self.lib.llama_sampler_free(check)
            self.grammars.add(params.grammar)
        return job  # its sampler is made when it is admitted: a job cancelled in the queue holds none

    def _sampler(self, p: SamplingParams, seed: int):
        lib = self.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if p.frequency_penalty or p.presence_penalty:  # OpenAI: logit -= f * count + p * (count > 0)
            penalties = lib.llama_sampler_init_penalties(
                self.llm.n_vocab(), self.max_context, 1.0, p.frequency_penalty, p.presence_penalty
            )
            lib.llama_sampler_chain_add(chain, penalties)
        if getattr(p, "grammar", ""):  # after penalties, before the draw: llama-cpp-python's order
            lib.llama_sampler_chain_add(
                chain, lib.llama_sampler_init_grammar(self.vocab, p.grammar.encode(), b"root")
            )
        if p.temperature < MIN_SAMPLING_TEMPERATURE:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(p.temperature))
        if p.top_p < 1.0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(p.top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain

    def _text(self, ids: list[int]) -> str:
        with self.tokenizer_lock:
            return self.llm.detokenize(ids).decode("utf-8", errors="replace")

    # -- the decode loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while (new := self._take(len(self.free_seqs), busy=bool(self.rows))) is not None:
            try:
                self._step(new)
            except Exception as exc:  # a failing decode must not kill the server: fail the batch, go on
                for job in {id(j): j for j in self.rows + new}.values():
                    job.emit(Failed(f"generation failed: {type(exc).__name__}: {exc}"))
                    job.cancel()  # also drops a job put back in the queue
                self._retire()
                self.lib.llama_memory_clear(self.memory, True)  # its contents are unknown now
                self.cached = {}
            self.running = len(self.rows)
        for job in self.rows:  # closed while generating
            job.emit(Failed("the server is shutting down"))
        self._retire_all()

    def _step(self, new: list[Job]) -> None:
        """One llama_decode: the running rows' last tokens plus as many new prompts as the batch holds."""
        lib, batch = self.lib, self.batch
        room = self.n_batch - len(self.rows)
        budget = PREFILL_TOKENS_PER_STEP  # arrivals are prefilled a few per step, so first tokens come early
        admitted = []
        for k, job in enumerate(new):
            seq, reuse = self._best_sequence(job.prompt)
            size = len(job.prompt) - reuse
            if size > room or (admitted and size > budget):  # the rest waits for the next step, in order
                with self._cond:
                    self._waiting.extendleft(reversed(new[k:]))
                break
            self.free_seqs.remove(seq)
            job.seq, job.position = seq, reuse
            job.generator = self._sampler(job.params, job.seed)
            admitted.append(job)
            room, budget = room - size, budget - size
        n = 0
        outputs: list[tuple[Job, int]] = []
        for job in self.rows:
            n = self._put(n, job.next_token, job.position, job.seq, True)
            self.cached[job.seq].append(job.next_token)
            outputs.append((job, n - 1))
            job.position += 1
        for job in admitted:  # only the part of the prompt its sequence does not hold already
            lib.llama_memory_seq_rm(self.memory, job.seq, job.position, -1)
            for i in range(job.position, len(job.prompt)):
                n = self._put(n, job.prompt[i], i, job.seq, i == len(job.prompt) - 1)
            self.cached[job.seq] = list(job.prompt)
            job.position = len(job.prompt)
            outputs.append((job, n - 1))
        self.rows += admitted
        if n == 0:
            return
        batch.n_tokens = n
        if (rc := lib.llama_decode(self.ctx, batch)) != 0:
            raise NotusError(f"llama_decode returned {rc}")
        tokens = [lib.llama_sampler_sample(job.generator, self.ctx, index) for job, index in outputs]
        for (job, _), token in zip(outputs, tokens):
            job.next_token = token
        self._advance([job for job, _ in outputs], tokens)

    def _best_sequence(self, prompt: list[int]) -> tuple[int, int]:
        """The free sequence whose cached tokens share the longest prefix with `prompt` (a system prompt,
        an earlier turn), and how many prompt tokens it can reuse (never all: the last one gives logits)."""
        best, reuse = self.free_seqs[-1], 0
        for seq in self.free_seqs:
            cached, n = self.cached.get(seq, []), 0
            limit = min(len(cached), len(prompt) - 1)
            while n < limit and cached[n] == prompt[n]:
                n += 1
            if n > reuse:
                best, reuse = seq, n
        return best, reuse

    def _put(self, n: int, token: int, position: int, seq: int, logits: bool) -> int:
        b = self.batch
        b.token[n], b.pos[n], b.n_seq_id[n], b.logits[n] = token, position, 1, logits
        b.seq_id[n][0] = seq
        return n + 1

    def _retire(self) -> None:
        keep = []
        for job in self.rows:
            if job.finish or job.cancelled:
                self._release(job)
            else:
                keep.append(job)
        self.rows = keep
        self.running = len(keep)

    def _release(self, job: Job) -> None:
        if job.generator is not None:
            self.lib.llama_sampler_free(job.generator)
            job.generator = None
        if job.seq >= 0:
            self.free_seqs.append(job.seq)  # its keys/values stay, for the next prompt with the same prefix
            job.seq = -1

    def _retire_all(self) -> None:
        for job in self.rows:
            self._release(job)
        self.rows = []

    def close(self) -> None:
        super().close()
        if self._thread.is_alive():
            return  # the worker is still inside llama.cpp; the process exit frees the context
        self.lib.llama_batch_free(self.batch)
        self.lib.llama_free(self.ctx)
        self.ctx = None
