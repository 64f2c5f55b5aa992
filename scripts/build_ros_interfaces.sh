#!/usr/bin/env bash
# Build ros_ws/src/robot_rl_interfaces with plain cmake against the ROS 2 wheels in a venv
# (no colcon, no /opt/ros) and install it into the venv prefix, where the wheels' loader
# finds it (`from robot_rl_interfaces.msg import Transition` then works).
#   bash scripts/build_ros_interfaces.sh [VENV]     # default .venv
# Needs the build tools installed by scripts/setup_ros.sh, cmake, ninja and a C/C++ compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "${1:-.venv}" && pwd)
PY="$VENV/bin/python"
BUILD=${ROS_INTERFACES_BUILD_DIR:-build/robot_rl_interfaces}

# The wheels' exported CMake files name the wheel builder's Python and numpy include
# folders (/opt/python/cp3X-cp3X/...); point them at this venv's, or rosidl generation
# fails with "includes non-existent path".
read -r py_inc np_inc < <("$PY" -c \
  'import sysconfig, numpy; print(sysconfig.get_paths()["include"], numpy.get_include())')
{ grep -l '/opt/python/' "$VENV"/share/*/cmake/*Export*.cmake 2>/dev/null || true; } | while read -r f; do
  sed -i -E "s#/opt/python/[^/]+/include/python3\.[0-9]+#$py_inc#g; \
s#/opt/python/[^/]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$np_inc#g" "$f"
done

export AMENT_PREFIX_PATH="$VENV"  # else "No 'rosidl_typesupport_c' found"
cmake -S ros_ws/src/robot_rl_interfaces -B "$BUILD" -G Ninja -Wno-dev \
  -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" \
  -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" >/dev/null
cmake --install "$BUILD" >/dev/null
"$PY" -c 'from robot_rl_interfaces.msg import Transition; from robot_rl_interfaces.srv import Reset'
echo "build_ros_interfaces: robot_rl_interfaces installed into $VENV"
