"""robot_rl: a real-robot learning stack with a MuJoCo digital twin.

The core never imports rclpy; the ROS 2 layer lives in ``ros_ws/`` and ``robot_rl.bus``'s
``ros2`` backend, which import it lazily.
"""

import os

# Offscreen rendering: MuJoCo picks its GL backend from MUJOCO_GL when it is first imported.
# Without a display, default to EGL (Mesa's llvmpipe on a CPU machine); a user's setting wins.
if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

__version__ = "0.1.0"
