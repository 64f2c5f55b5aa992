#!/usr/bin/env bash
# ROS 2 from PyPI wheels into a venv (no /opt/ros, no colcon): rclpy with Fast DDS, the
# message packages our nodes use, robot_rl_interfaces built from ros_ws with cmake, and the
# robot_rl_ros node executables. Idempotent; called by scripts/setup.sh.
#   bash scripts/setup_ros.sh [VENV]                     # Jazzy (LTS), default .venv
#   ROBOT_RL_ROS_DISTRO=kilted bash scripts/setup_ros.sh  # Kilted instead (a fresh venv:
#                                                         # one venv holds one distro)
# The distro is pinned by its metapackage names (ros-jazzy-*, ros-kilted-*), never by the
# unprefixed ros-* names, which move to each new distro. Wheels exist for x86_64 Linux,
# CPython 3.10-3.14. Needs cmake, ninja, g++ and the Python headers (setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
DISTRO=${ROBOT_RL_ROS_DISTRO:-jazzy}
case "$DISTRO" in
  jazzy) build_extra=(python-cmake-module) ;;
  kilted) build_extra=(ament-cmake-ros-core) ;;
  *) echo "setup_ros: ROBOT_RL_ROS_DISTRO must be jazzy or kilted, not '$DISTRO'" >&2; exit 2 ;;
esac
runtime=(rclpy rmw-fastrtps-cpp std-msgs std-srvs geometry-msgs sensor-msgs diagnostic-msgs
  rosgraph-msgs lifecycle-msgs)
# The build tools of robot_rl_interfaces; the wheels do not declare all of them.
build=(ament-cmake ament-package ament-cmake-include-directories ament-cmake-ros
  ament-cmake-gmock ament-cmake-gtest ament-cmake-pytest rosidl-default-generators
  rosidl-core-generators "${build_extra[@]}")
other=kilted; [ "$DISTRO" = kilted ] && other=jazzy
if "$VENV/bin/python" -m pip show -q "ros-$other-rclpy" >/dev/null 2>&1; then
  echo "setup_ros: $VENV holds ROS 2 $other; switch distros in a fresh venv (rm -rf $VENV)" >&2
  exit 2
fi
pkgs=()
for p in "${runtime[@]}" "${build[@]}"; do pkgs+=("ros-$DISTRO-$p"); done
"$VENV/bin/python" -m pip install -q "${pkgs[@]}" catkin-pkg

bash scripts/build_ros_interfaces.sh "$VENV"

# The node executables go where `ros2 run` looks: <prefix>/lib/robot_rl_ros/<executable>
# (pip ignores setup.cfg's install_scripts and puts them in bin/).
"$VENV/bin/python" -m pip install -q ./ros_ws/src/robot_rl_ros
mkdir -p "$VENV/lib/robot_rl_ros"
for exe in $("$VENV/bin/python" -c 'from robot_rl.nodes.graph import NODE_KINDS; print(*NODE_KINDS)'); do
  if [ -f "$VENV/bin/$exe" ]; then mv -f "$VENV/bin/$exe" "$VENV/lib/robot_rl_ros/$exe"; fi
done
echo "setup_ros: ROS 2 $DISTRO ($("$VENV/bin/python" -c 'import importlib.metadata as m; print("rclpy", m.version("ros-rclpy"))'))"
