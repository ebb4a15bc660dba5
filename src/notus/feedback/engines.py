"""Models for the feedback steps, cached and spread out.

    model = open_model("smollm2-135m-instruct", backend="llamacpp", cache="out.jsonl.cache.sqlite")
    model = open_model("zephyr", base_urls=["http://a:8000/v1", "http://b:8000/v1"], cache=...)
    run_workers(make_argv, workers=2, output="out.jsonl")   # N processes on interleaved shards, merged

Scale-out has two forms, which combine:
- several OpenAI-compatible endpoints (`--base-url` repeated: vLLM / TGI / `notus serve` servers):
  requests go to them in turn, `--concurrency` in flight per endpoint (`SpreadModel`);
- `--workers N` local processes: worker i takes prompts i, i+N, ... into its own part file; when all
  finish, the parts are merged back in input order. All share the output's request cache.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from notus.core.errors import NotusError
from notus.core.types import Conversation
from notus.feedback.store import read_rows
from notus.llm.cache import CachedModel
from notus.llm.contract import Completion, GenerationParams, Model, load_model


class SpreadModel:
    """One logical model served by several endpoints: successive requests go to them in turn."""

    def __init__(self, models: list[Model]):
        self.models = models
        self.name = models[0].name
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        out = []
        for conversation in conversations:
            with self._lock:
                model = self.models[next(self._turn) % len(self.models)]
            out += model.generate([conversation], params)
        return out


class ParallelRequests:
    """Send requests one by one through `model` from `concurrency` threads.

    Wrapped around a `CachedModel` with chunk_size 1, every answer is committed the moment it
    arrives: a kill loses only the requests still in flight, never an answer already received.
    """

    def __init__(self, model: CachedModel, concurrency: int):
        self.model = model
        self.name = model.name
        self.concurrency = max(1, concurrency)

    @property
    def stats(self):  # the cache's hit/miss/token counts
        return self.model.stats

    def generate(self, conversations: list[Conversation], params: GenerationParams) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda c: self.model.generate([c], params)[0], conversations))


def open_model(
    ref: str,
    backend: str = "transformers",
    base_urls: list[str] | None = None,
    cache: str | Path | None = None,
    concurrency: int = 8,
    chunk_size: int = 8,
    **options: object,
) -> Model:
    """Load `ref` (over HTTP when base URLs are given), behind the persistent request cache.

    Local backends get whole chunks (they batch); HTTP endpoints get single requests from a
    thread pool (`concurrency` per endpoint), each cached as soon as it is answered.
    """
    if base_urls:
        if backend not in ("openai", "transformers"):
            raise NotusError(f"--base-url needs the 'openai' backend, not {backend!r}")
        endpoints = [load_model(ref, backend="openai", base_url=u, concurrency=1) for u in base_urls]
        spread = SpreadModel(endpoints)
        if not cache:
            return ParallelRequests(spread, concurrency * len(endpoints))  # type: ignore[arg-type]
        return ParallelRequests(CachedModel(spread, cache, chunk_size=1), concurrency * len(endpoints))
    model = load_model(ref, backend=backend, **options)
    return CachedModel(model, cache, chunk_size=chunk_size) if cache else model


def run_workers(make_argv: Callable[[int, Path], list[str]], workers: int, output: str | Path) -> int:
    """Run `notus <make_argv(i, part_i)>` as `workers` processes, then merge their parts in input order.

    Worker i handles rows i, i+N, ... (`--shard i/N`), so the k-th row of part i is input row
    i + k*N. A failed or killed worker leaves its part resumable: re-running the command continues.
    """
    output = Path(output)
    parts_dir = Path(f"{output}.parts")
    if output.is_file() and output.stat().st_size and not parts_dir.is_dir():
        raise NotusError(
            f"{output} already exists and was not written by `notus feedback --workers` (no {parts_dir.name} "
            f"beside it); notus replaces only its own outputs: choose a new output path"
        )
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = [parts_dir / f"part-{i:03d}.jsonl" for i in range(workers)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "notus", *make_argv(i, parts[i])]) for i in range(workers)
    ]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise NotusError(f"feedback workers exited with codes {codes}; re-run the same command to resume")
    shards = [read_rows(p) if p.exists() else [] for p in parts]
    merged = []
    for k in range(max(len(s) for s in shards)):
        merged += [s[k] for s in shards if k < len(s)]
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in merged), "utf-8")
    tmp.replace(output)
    return len(merged)


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise NotusError(f"--shard {text!r} must be INDEX/COUNT, e.g. 0/2") from None
    if not 0 <= index < count:
        raise NotusError(f"--shard {text!r}: INDEX must be in 0..COUNT-1")
    return index, count
