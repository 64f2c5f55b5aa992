"""MJCF assets of the robot_rl twin (installed as the ``robot_rl.sim`` package)."""
