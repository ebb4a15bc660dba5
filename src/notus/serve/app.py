"""HTTP routes of `notus serve`: thin FastAPI layer over an engine (see engine.py) and the chat page.

    app = create_app(load_engine("smollm2-135m-instruct", ServeLimits()), api_key=None)
    uvicorn.run(app, host="127.0.0.1", port=8000)

Errors always have OpenAI's body `{"error": {"message", "type", "param", "code"}}`: 400 bad JSON or a
conversation the chat template rejects, 401 missing/wrong API key, 403 a cross-origin request to `/v1`
(see guard.py), 404 unknown model or path, 413 body or prompt too long, 421 a `Host` this server does
not answer for, 422 invalid fields, 429 queue full. Bad input never yields 5xx, and one request's input
never affects another's. A client that goes away (streaming or not) frees its place at once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from notus.serve import schema
from notus.serve.engine import (
    Event,
    Failed,
    Finished,
    InvalidPromptError,
    Job,
    PromptTooLongError,
    QueueFullError,
    SamplingParams,
    TextDelta,
)
from notus.serve.guard import RequestGuard, bound_names
from notus.serve.limits import DEFAULT_HOST, IDLE_TICK_S, ServeLimits

STATIC_DIR = Path(__file__).parent / "static"
# The only files served under /static: a fixed name -> file map, so no request path can reach elsewhere.
STATIC_FILES = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:",
    "Referrer-Policy": "no-referrer",
}
ERROR_TYPES = {401: "authentication_error", 429: "rate_limit_error", 500: "server_error"}


class APIError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_response(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    # a message quoting client text must still encode as UTF-8 (lone surrogates become \udxxx escapes)
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    detail = schema.ErrorDetail(
        message=message, type=ERROR_TYPES.get(status, "invalid_request_error"), param=param, code=code
    )
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(schema.ErrorBody(error=detail).model_dump(), status_code=status, headers=headers)


def create_app(
    engine,
    api_key: str | None = None,
    limits: ServeLimits | None = None,
    host: str = DEFAULT_HOST,
    allowed_hosts: tuple[str, ...] = (),
    cors_origins: tuple[str, ...] = (),
) -> FastAPI:
    """The ASGI app serving `engine` (a BatchingEngine or ContractEngine); the engine closes on shutdown.
    It answers the Host names of `host` (the bound interface), loopback and `allowed_hosts`, and
    cross-origin `/v1` requests only from `cors_origins` (see guard.py)."""
    limits = limits or engine.limits

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await asyncio.to_thread(engine.close)

    app = FastAPI(title="notus serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    created = schema.now()

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.param, exc.code)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return error_response(
            exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", code=code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, str(exc), code="invalid_value")

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error: {type(exc).__name__}: {exc}", code="internal_error")

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer "):
            raise APIError(
                401, "missing API key: send the header `Authorization: Bearer KEY`", code="invalid_api_key"
            )
        if not secrets.compare_digest(given[len("Bearer ") :].encode(), api_key.encode()):
            raise APIError(401, "incorrect API key", code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": engine.model_id, **engine.stats()}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        check_key(request)
        return schema.ModelList(data=[schema.ModelCard(id=engine.model_id, created=created)]).model_dump()

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> dict:
        check_key(request)
        if model_id != engine.model_id:
            raise APIError(404, f"model {model_id!r} does not exist; this server serves {engine.model_id!r}",
                           param="model", code="model_not_found")  # fmt: skip
        return schema.ModelCard(id=engine.model_id, created=created).model_dump()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        check_key(request)
        body = parse_request(await read_body(request, limits.max_body_bytes))
        if body.model != engine.model_id:
            raise APIError(404, f"model {body.model!r} does not exist; this server serves {engine.model_id!r}",
                           param="model", code="model_not_found")  # fmt: skip
        max_tokens = body.requested_max_tokens() or limits.default_max_tokens
        if max_tokens > limits.max_completion_tokens:
            raise APIError(422, f"max_tokens {max_tokens} is above this server's limit {limits.max_completion_tokens}",
                           param="max_tokens", code="invalid_value")  # fmt: skip
        params = SamplingParams(
            max_new_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p, stop=body.stop,
            seed=body.seed, frequency_penalty=body.frequency_penalty, presence_penalty=body.presence_penalty,
        )  # fmt: skip
        loop, queue = asyncio.get_running_loop(), asyncio.Queue()
        try:
            job = await asyncio.to_thread(
                engine.submit,
                body.conversation(),
                params,
                lambda ev: loop.call_soon_threadsafe(queue.put_nowait, ev),
            )
        except PromptTooLongError as exc:
            raise APIError(413, str(exc), param="messages", code="context_length_exceeded") from exc
        except InvalidPromptError as exc:
            raise APIError(400, str(exc), param="messages", code="invalid_messages") from exc
        except QueueFullError as exc:
            raise APIError(429, str(exc), code="queue_full") from exc
        meta = {"id": schema.completion_id(), "created": schema.now(), "model": engine.model_id}
        if body.stream:
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                sse(events(queue, job), meta, usage), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )  # fmt: skip
        watcher = asyncio.create_task(cancel_on_disconnect(request, job, queue))
        try:
            return await complete(events(queue, job), meta)
        finally:
            watcher.cancel()

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(STATIC_FILES["index.html"], headers=SECURITY_HEADERS)

    @app.get("/static/{name}")
    async def static(name: str) -> FileResponse:
        if name not in STATIC_FILES:
            raise APIError(404, f"no static file {name!r}", code="not_found")
        return FileResponse(STATIC_FILES[name], headers=SECURITY_HEADERS)

    if cors_origins:  # answers the allowed origins' preflights and adds the CORS response headers
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    app.add_middleware(
        RequestGuard,
        allowed_hosts=bound_names(host, allowed_hosts),
        cors_origins=set(cors_origins),
        refuse=lambda status, message, code: error_response(status, message, code=code),
    )
    return app


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise APIError(413, f"request body of {declared} bytes is above the limit of {limit} bytes",
                       code="request_too_large")  # fmt: skip
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise APIError(413, f"request body is above the limit of {limit} bytes", code="request_too_large")
    return bytes(body)


def parse_request(raw: bytes) -> schema.ChatCompletionRequest:
    try:
        data = json.loads(raw)
    except RecursionError:
        raise APIError(400, "the request body is JSON nested too deeply", code="invalid_json") from None
    except ValueError as exc:  # not JSON, not UTF-8, or an integer with more digits than Python reads
        raise APIError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_json")
    try:
        return schema.ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise APIError(422, problems, param=param, code="invalid_value") from exc


async def cancel_on_disconnect(request: Request, job: Job, queue: asyncio.Queue) -> None:
    """Wait for the client of a non-streaming request to go away; then drop its job (freeing its batch
    row or queue place) and end its event stream (None). Streaming responses are cancelled by Starlette."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    job.cancel()
    queue.put_nowait(None)


async def events(queue: asyncio.Queue, job: Job) -> AsyncIterator[Event | None]:
    """Engine events for one job; None on idle ticks (and ends on a None put in the queue when the
    client left). The job is cancelled when the consumer goes away."""
    try:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), IDLE_TICK_S)
            except TimeoutError:
                yield None
                continue
            if event is None:
                return
            yield event
            if not isinstance(event, TextDelta):
                return
    finally:
        job.cancel()  # no-op for a finished job; stops generation for a client that left


async def complete(stream: AsyncIterator[Event | None], meta: dict) -> JSONResponse:
    parts: list[str] = []
    async with aclosing(stream):
        async for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Failed):
                return error_response(500, event.message, code="generation_failed")
            elif isinstance(event, Finished):
                usage = schema.Usage(prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
                                     total_tokens=event.prompt_tokens + event.completion_tokens)  # fmt: skip
                choice = schema.Choice(message=schema.ResponseMessage(content="".join(parts)),
                                       finish_reason=event.finish_reason)  # fmt: skip
                return JSONResponse(schema.ChatCompletion(**meta, choices=[choice], usage=usage).model_dump())
    return error_response(499, "the client closed the request", code="client_closed")


async def sse(stream: AsyncIterator[Event | None], meta: dict, include_usage: bool) -> AsyncIterator[str]:
    """OpenAI's streaming format: `data: {chunk}` events, then `data: [DONE]`."""

    def chunk(delta: schema.Delta, finish: str | None = None, usage: schema.Usage | None = None) -> str:
        choices = [] if usage else [schema.ChunkChoice(delta=delta, finish_reason=finish)]
        body = schema.ChatCompletionChunk(**meta, choices=choices, usage=usage)
        return f"data: {body.model_dump_json(exclude_none=usage is None)}\n\n"

    yield chunk(schema.Delta(role="assistant", content=""))
    async with aclosing(stream):
        async for event in stream:
            if event is None:
                yield ": keep-alive\n\n"  # also notices a client that went away while queued
            elif isinstance(event, TextDelta):
                yield chunk(schema.Delta(content=event.text))
            elif isinstance(event, Failed):
                body = schema.ErrorBody(error=schema.ErrorDetail(message=event.message, type="server_error"))
                yield f"data: {body.model_dump_json()}\n\n"
            elif isinstance(event, Finished):
                yield chunk(schema.Delta(), finish=event.finish_reason)
                if include_usage:
                    total = event.prompt_tokens + event.completion_tokens
                    yield chunk(schema.Delta(), usage=schema.Usage(
                        prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens, total_tokens=total
                    ))  # fmt: skip
    yield "data: [DONE]\n\n"
