#!/usr/bin/env bash
# Lint, check formatting, type-check and run every test tier (unit, twin, graph, gui, ros).
# Extra args go to pytest. The tests run in their own network namespace (only loopback, brought up here)
# where `unshare -n` is allowed, so no DDS traffic leaves the machine; ROBOT_RL_NETNS=0
# runs them in the host's namespace (their DDS configs still use loopback only).
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL=${MUJOCO_GL:-egl}
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Tests marked `slow` (today: the batched cell's 8 x 10,000-step safety run, about 11 min on
# 2 cores) run only with ROBOT_RL_SLOW=1; a `-m` of the caller's overrides this.
slow=(-m "not slow")
[ "${ROBOT_RL_SLOW:-0}" = 1 ] && slow=()
pytest=(.venv/bin/python -m pytest -q "${slow[@]}" "$@")
if [ "${ROBOT_RL_NETNS:-1}" != 0 ] && command -v ip >/dev/null &&
  unshare -n ip link set lo up 2>/dev/null; then
  echo "test.sh: running the tests in a new network namespace (loopback only)"
  exec unshare -n sh -c 'ip link set lo up && exec "$0" "$@"' "${pytest[@]}"
fi
echo "test.sh: unshare -n not allowed here; running in the host's network namespace"
exec "${pytest[@]}"
