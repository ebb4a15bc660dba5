#!/usr/bin/env bash
# Quickstart command 1: set up, then run the main job (the Notus experiment on the embedded model,
# offline on CPU). Extra arguments go to `notus run`, e.g. `bash scripts/run.sh recipes/x.yaml seed=1`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${NOTUS_VENV:-.venv}/bin/notus" run "$@"
