#!/usr/bin/env bash
# Set up robot_rl on a fresh Debian/Ubuntu machine (idempotent):
#  - system libraries: EGL/Mesa for headless MuJoCo rendering, libusb for RealSense, hidapi
#    for the SpaceMouse, chromium and its WebDriver for the browser tests of the GUI (tests/gui);
#  - a virtual environment in .venv with torch pinned first, then robot_rl with its dev tools
#    and the VLM, teleop and RealSense extras (jax for the MJX twin is the optional [mjx] extra);
#  - ROS 2 from PyPI wheels in the same venv (scripts/setup_ros.sh: rclpy, robot_rl_interfaces
#    built with cmake, the robot_rl_ros executables) for the ros test tier. Jazzy by default;
#    ROBOT_RL_ROS_DISTRO=kilted picks Kilted, ROBOT_RL_ROS=0 skips ROS (tests/ros then skip).
# TORCH_SPEC overrides the torch requirement (default torch==2.13.0: on the project's CPU
# machines this picks a local CPU wheel instead of gigabytes of CUDA packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

missing=()
system=(libegl1 libegl-mesa0 libgl1-mesa-dri libusb-1.0-0 libhidapi-hidraw0 chromium chromium-driver)
# robot_rl_interfaces builds with cmake; `ip` brings up loopback in the tests' network namespace
[ "${ROBOT_RL_ROS:-1}" = 0 ] || system+=(cmake ninja-build g++ python3-dev iproute2)
for pkg in "${system[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
"$PY" -m venv --help >/dev/null 2>&1 || missing+=("python3-venv")
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[dev,vlm,teleop,realsense]"
[ "${ROBOT_RL_ROS:-1}" = 0 ] || bash scripts/setup_ros.sh .venv
echo "setup: done ($(.venv/bin/python -c 'import robot_rl, mujoco, torch; print("mujoco", mujoco.__version__, "torch", torch.__version__)'))"
