"""`notus serve MODEL`: OpenAI-compatible chat server plus a web chat page at `/`.

notus serve smollm2-135m-instruct                      # http://127.0.0.1:8000  (page at /, API at /v1)
notus serve runs/notus-xxxx/notus/model --port 8080 --api-key secret
NOTUS_API_KEY=secret notus serve my-org/my-model --host 0.0.0.0 --max-batch-size 16
"""

from __future__ import annotations

import argparse
import os
import re

from notus.core.errors import NotusError
from notus.serve import limits as L

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="embedded name, local model folder, Hub id or .gguf file"
    )
    parser.add_argument(
        "--host", default=L.DEFAULT_HOST, help="interface to bind (default: %(default)s, loopback only)"
    )
    parser.add_argument("--port", type=int, default=L.DEFAULT_PORT, help="default: %(default)s")
    parser.add_argument(
        "--api-key", default=None, help="require `Authorization: Bearer KEY` (default: $NOTUS_API_KEY)"
    )
    parser.add_argument(
        "--served-model-name", default=None, help="model id clients send (default: last part of MODEL)"
    )
    parser.add_argument("--backend", default=None,
                        help="transformers or llamacpp (both continuous batching, streaming), or another "
                        "model-contract backend (openai, vllm); default: llamacpp for a .gguf file, else "
                        "transformers")  # fmt: skip
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads of torch or llama.cpp (default: torch's choice; llama.cpp: one per physical core)",
    )
    parser.add_argument("--max-batch-size", type=int, default=L.MAX_BATCH_SIZE, help="default: %(default)s")
    parser.add_argument(
        "--max-queue",
        type=int,
        default=L.MAX_QUEUE,
        help="waiting requests before 429 (default: %(default)s)",
    )
    parser.add_argument(
        "--max-prompt-tokens", type=int, default=L.MAX_PROMPT_TOKENS, help="default: %(default)s"
    )
    parser.add_argument("--max-completion-tokens", type=int, default=L.MAX_COMPLETION_TOKENS,
                        help="largest accepted max_tokens (default: %(default)s)")  # fmt: skip
    parser.add_argument(
        "--default-max-tokens", type=int, default=L.DEFAULT_MAX_TOKENS, help="default: %(default)s"
    )
    parser.add_argument("--max-body-bytes", type=int, default=L.MAX_BODY_BYTES, help="default: %(default)s")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="also answer requests for this Host name (repeatable; loopback names, IP "
                        "addresses and --host are always answered; '*' answers any)")  # fmt: skip
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="let web pages on this origin (e.g. https://chat.example.com) call /v1 "
                        "(repeatable; default: same-origin only)")  # fmt: skip
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.set_defaults(func=serve)


def api_key_from(args: argparse.Namespace) -> str | None:
    """`--api-key`, else $NOTUS_API_KEY, else None (no key required)."""
    return args.api_key or os.environ.get("NOTUS_API_KEY") or None


def serve(args: argparse.Namespace) -> int:
    limits = L.ServeLimits(
        max_batch_size=args.max_batch_size, max_queue=args.max_queue, max_prompt_tokens=args.max_prompt_tokens,
        max_completion_tokens=args.max_completion_tokens, default_max_tokens=args.default_max_tokens,
        max_body_bytes=args.max_body_bytes,
    )  # fmt: skip
    problems = limits.problems() + ([] if 0 <= args.port < 65536 else ["--port must be 0-65535"])
    problems += [
        f"--cors-origin {o!r} must be scheme://host[:port], e.g. https://chat.example.com"
        for o in args.cors_origin
        if not re.fullmatch(r"https?://[^/\s]+", o)
    ]
    if problems:
        raise NotusError("; ".join(problems))
    api_key = api_key_from(args)
    if args.host not in LOOPBACK and api_key is None:
        print(
            f"notus serve: warning: listening on {args.host} without an API key; anyone who can reach it can use it"
        )
    if args.host not in LOOPBACK and not args.allowed_host:
        print(
            "notus serve: clients may reach this server by IP address; to reach it by a name, "
            "add --allowed-host NAME (other Host names get 421)"
        )

    if args.backend is None:
        args.backend = "llamacpp" if args.model.endswith(".gguf") else "transformers"
    if args.backend == "transformers":
        from notus.llm.models import resolve_model

        resolve_model(args.model)  # a typo fails here, before torch is imported

    import torch
    import uvicorn

    from notus.serve.app import create_app
    from notus.serve.engine import load_engine

    if args.threads:
        torch.set_num_threads(args.threads)
    engine = load_engine(args.model, limits, backend=args.backend, model_id=args.served_model_name,
                         dtype=args.dtype, threads=args.threads)  # fmt: skip
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"notus serve: {engine.model_id!r} on http://{host}:{args.port}  (chat page: /, OpenAI API: /v1)",
        flush=True,
    )
    from notus.serve.guard import header_timeout_protocol

    app = create_app(engine, api_key=api_key, limits=limits, host=args.host,
                     allowed_hosts=tuple(args.allowed_host), cors_origins=tuple(args.cors_origin))  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5,
                http=header_timeout_protocol(L.HEADER_TIMEOUT_S), timeout_keep_alive=L.KEEP_ALIVE_TIMEOUT_S,
                h11_max_incomplete_event_size=L.MAX_HEADER_BYTES)  # fmt: skip
    return 0
