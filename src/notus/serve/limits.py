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
GATHER_WINDOW_S = 0.02  # an idle engine waits this long so simultaneous arrivals share one prefill
IDLE_TICK_S = 1.0  # how often a waiting response checks that its client is still there
CHARS_PER_TOKEN = 4  # prompt-length estimate for backends without a tokenizer


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
