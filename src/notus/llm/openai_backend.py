"""OpenAI-compatible HTTP backend: OpenAI, vLLM, TGI, Ollama, llama.cpp server, `notus serve`.

    model = load_model("gpt-4-0613", backend="openai", base_url="https://api.openai.com/v1")
    model = load_model("notus", backend="openai", base_url="http://127.0.0.1:8000/v1", concurrency=4)

Requests run on a bounded thread pool (`concurrency`); 429, 5xx, timeouts and connection errors are
retried with exponential backoff (honouring `Retry-After`), other 4xx fail at once with the server's
message. The API key comes from `api_key=` or `$OPENAI_API_KEY`.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from notus.core.errors import NotusError
from notus.core.types import Conversation
from notus.llm.contract import BACKENDS, Completion, GenerationParams

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 60.0  # a server's Retry-After is honoured up to this (a huge one would hang the run)


class EndpointError(NotusError):
    """The endpoint refused a request for a reason retrying cannot fix (or retries ran out)."""


def _count(value: Any) -> int | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < float("inf")
    return int(value) if ok else None


def completion_from(data: Any) -> Completion | None:
    """A Completion from a chat.completion response body, or None when the body does not have its shape."""
    try:
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        logprobs = (choice.get("logprobs") or {}).get("content")
        finish = choice.get("finish_reason") or "stop"
        tokens = [_count(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens")]
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    if not isinstance(text, str) or not isinstance(finish, str) or None in tokens:
        return None
    if not (logprobs is None or isinstance(logprobs, list)):
        return None
    return Completion(text, tokens[0], tokens[1], finish, logprobs)


class OpenAIModel:
    def __init__(
        self,
        ref: str,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 6,
        backoff: float = 1.0,
        top_logprobs: int = 5,
    ):
        import httpx

        self.name = ref
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip(
            "/"
        )
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(headers=headers, timeout=timeout)
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.backoff = backoff
        self.top_logprobs = top_logprobs

    def request_body(self, conversation: Conversation, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": conversation,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = self.top_logprobs
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * 2**attempt * (0.5 + random.random())
            try:
                response = self.client.post(url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt == self.max_retries:
                    raise EndpointError(
                        f"{url}: {type(exc).__name__} after {attempt + 1} tries: {exc}"
                    ) from None
                time.sleep(wait)
                continue
            if response.status_code == 200:
                try:
                    return response.json()
                except (ValueError, RecursionError):
                    raise EndpointError(
                        f"{url} answered 200 with a body that is not JSON: {response.text[:200]!r}"
                    ) from None
            if response.status_code in RETRY_STATUS and attempt < self.max_retries:
                retry_after = response.headers.get("retry-after", "")
                digits = retry_after.replace(".", "", 1).isdigit()
                time.sleep(min(float(retry_after), MAX_RETRY_AFTER_S) if digits else wait)
                continue
            raise EndpointError(f"{url} answered {response.status_code}: {response.text[:500]}")
        raise EndpointError(f"{url}: no answer after {self.max_retries + 1} tries")

    def _one(self, conversation: Conversation, params: GenerationParams) -> Completion:
        data = self._post(self.request_body(conversation, params))
        completion = completion_from(data)
        if completion is None:
            raise EndpointError(
                f"{self.base_url}/chat/completions answered 200 without OpenAI's chat.completion shape "
                f"(choices[0].message.content text, usage token counts): {str(data)[:200]}"
            )
        return completion

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        if len(conversations) <= 1 or self.concurrency == 1:
            return [self._one(c, params) for c in conversations]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(conversations))) as pool:
            return list(pool.map(lambda c: self._one(c, params), conversations))


BACKENDS.register("openai")(OpenAIModel)
