"""Named limits of `notus serve`; every one can be changed on the command line (`notus serve --help`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"  # loopback only unless the user asks for more
DEFAULT_PORT = 8000
MAX_BATCH_SIZE = 8  # rows decoded together by the batching engine
MAX_QUEUE = 64  # requests waiting for a batch slot; one more gets 429
MAX_PROMPT_TOKENS = 4096  # prompt (chat template applied) longer than this gets 413
MAX_COMPLETION_TOKENS = 2048  # `max_tokens` above this gets 422
DEFAULT_MAX_TOKENS = 512  # when the request gives no `max_tokens`
MAX_BODY_BYTES = 512 * 1024  # request bodies above this get 413 before being parsed
MAX_MESSAGES = 256
MAX_STOP_STRINGS = 4  # as OpenAI
PREFILL_TOKENS_PER_STEP = 128  # llama.cpp engine: new prompt tokens per decode step (at least one prompt)
GATHER_WINDOW_S = 0.02  # an idle engine waits this long so simultaneous arrivals share one prefill
IDLE_TICK_S = 1.0  # a waiting stream sends a keep-alive comment this often (and notices a client gone)
CHARS_PER_TOKEN = 4  # prompt-length estimate for backends without a tokenizer
MIN_SAMPLING_TEMPERATURE = 1e-4  # below it sampling is greedy (logits / T would overflow to inf)
MAX_SEED = 2**63 - 1  # seeds are 64-bit signed integers, as torch and llama.cpp take them
HEADER_TIMEOUT_S = 10.0  # a connection must send a request's complete headers within this time
KEEP_ALIVE_TIMEOUT_S = 5  # an idle keep-alive connection is closed after this (uvicorn timeout_keep_alive)
MAX_HEADER_BYTES = 64 * 1024  # request line + headers above this get 400 (h11_max_incomplete_event_size)


@dataclass(frozen=True)
class ServeLimits:
    max_batch_size: int = MAX_BATCH_SIZE
    max_queue: int = MAX_QUEUE
    max_prompt_tokens: int = MAX_PROMPT_TOKENS
    max_completion_tokens: int = MAX_COMPLETION_TOKENS
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    max_body_bytes: int = MAX_BODY_BYTES

    def problems(self) -> list[str]:
        return [f"--{name.replace('_', '-')} must be >= 1" for name, value in vars(self).items() if value < 1]
