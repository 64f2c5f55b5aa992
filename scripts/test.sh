#!/usr/bin/env bash
# Lint, type-check and run every test tier (unit, twin, graph, gui). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL=${MUJOCO_GL:-egl}
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
