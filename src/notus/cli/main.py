"""`notus` entry point. Each command group lives in `notus/cli/<group>.py` and exposes
`register(subparsers)`; modules import torch/transformers only inside the command that runs."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from notus import __version__
from notus.core.errors import NotusError

GROUPS = {
    "run": "run a whole experiment recipe (default: the Notus experiment on the embedded model)",
    "data": "read, check, binarize, decontaminate and report on preference data",
    "feedback": "generate completions and rate them with an AI judge (UltraFeedback-style)",
    "train": "SFT / DPO (and variants) training from a recipe",
    "eval": "AlpacaEval, MT-Bench, lm-eval-harness and preference accuracy",
    "serve": "OpenAI-compatible chat server and web chat UI",
    "export": "export a model as GGUF for llama.cpp, Ollama and LM Studio",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notus",
        description="Data-first alignment of chat LLMs: AI feedback -> curation -> SFT/DPO -> evaluation -> chat.",
    )
    parser.add_argument("--version", action="version", version=f"notus {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    for name, help_text in GROUPS.items():
        module = importlib.import_module(f"notus.cli.{name}")
        module.register(sub.add_parser(name, help=help_text, description=help_text))
    return parser


REPORT_TO = "the notus issue tracker (issues of the notus repository)"


def _environment_error(exc: BaseException) -> str | None:
    """One line for an error caused by the input or the environment (not by a bug), else None."""
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not valid UTF-8 (byte {exc.start}: {exc.reason}); re-encode it as UTF-8"
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to read (e.g. JSON thousands of levels deep); flatten it"
    if isinstance(exc, MemoryError):
        return "out of memory while reading the input; use a smaller input or a machine with more memory"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        return f"{where}{reason} (check the path, its permissions and the free disk space)"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit 0 on success, 2 for bad input or environment (one `notus: error:` line,
    no traceback), 1 for a bug (a traceback only with NOTUS_DEBUG=1), 130 when interrupted."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # `key=value` overrides may also follow options: `notus train dpo R --dataset D max_steps=2`
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = list(args.overrides) + extra
    func = getattr(args, "func", None)
    if func is None:
        (parser.parse_args([args.group, "--help"]) if args.group else parser.print_help())
        return 0
    debug = os.environ.get("NOTUS_DEBUG", "") not in ("", "0")
    try:
        return int(func(args) or 0)
    except NotusError as exc:
        print(f"notus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("notus: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        message = _environment_error(exc)
        if message is not None:
            print(f"notus: error: {message}", file=sys.stderr)
            return 2
        print(
            f"notus: internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in notus. "
            f"Please report it to {REPORT_TO} with the command; run again with NOTUS_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
