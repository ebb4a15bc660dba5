"""Run `notus serve` in a child process and stop it reliably (tests, benchmarks, a local judge for eval).

    with ServerProcess("smollm2-135m-instruct", ["--threads", "1"]) as server:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused")

The server binds 127.0.0.1 on a free port; its output goes to `log_path` (or a temporary file), whose
tail is shown if it fails to start. Leaving the `with` block terminates it (then kills it if needed).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(self, model: str, args: list[str] | tuple[str, ...] = (), log_path: Path | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT_S, command: list[str] | None = None,
                 health_path: str = "/health"):  # fmt: skip
        """`command`: another OpenAI-compatible server to run instead of `notus serve MODEL` (a benchmark's
        baseline); it gets `--port PORT` and `args`, and is ready when `health_path` answers 200."""
        self.model, self.args, self.startup_timeout = model, list(args), startup_timeout
        self.command = command or [sys.executable, "-m", "notus", "serve", model]
        self.health_path = health_path
        self.own_log = log_path is None  # a temporary log is removed after a clean stop
        self.log_path = Path(log_path or tempfile.mkstemp(prefix="notus-serve-", suffix=".log")[1])
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        import httpx

        cmd = [*self.command, "--port", str(self.port), *self.args]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{self.command[-1]} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}{self.health_path}", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"{self.command[-1]} did not answer {self.health_path} within {self.startup_timeout:.0f} s:\n{self.log_tail()}"
        )

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.own_log and exc[0] is None:
            self.log_path.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""
