"""Helpers for benchmarks/bench_dpo.py and bench_sft.py: each side runs in its own child process (so
peak RSS is per side), reports one JSON line, and the parent prints both sides and the ratios.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

UF_TRAIN = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ultrafeedback"
MARK = "BENCH-RESULT "


def ultrafeedback_rows(n: int, path: Path | None = None) -> list[dict]:
    """The first n real pairs of the shared UltraFeedback sample, as TRL conversational rows."""
    from notus.data.readers import read_rows
    from notus.train.data import to_preference

    records = read_rows(path or UF_TRAIN / "binarized_overall_score_train_1000.jsonl")[:n]
    return [to_preference(r.row, i) for i, r in enumerate(records)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(result: dict[str, Any]) -> None:
    """Called in the child: print the side's result for the parent."""
    result["peak_rss_mb"] = peak_rss_mb()
    print(MARK + json.dumps(result), flush=True)


def run_side(script: str, side: str, args: list[str]) -> dict[str, Any]:
    """Run `script --side SIDE ARGS` in a child process and parse its result line."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, script, "--side", side, *args], capture_output=True, text=True, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK) :])
            result["process_s"] = time.perf_counter() - start
            return result
    raise RuntimeError(
        f"side {side} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


def table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(_fmt(r.get(k)).ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)
