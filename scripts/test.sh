#!/usr/bin/env bash
# Quickstart command 2: set up, lint, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
VENV="${NOTUS_VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
"$VENV/bin/ruff" check src tests benchmarks scripts
exec "$VENV/bin/python" -m pytest -q -ra "$@"
