"""ROS 2 executable `reset`: the reset node of robot_rl.nodes on rclpy."""

from __future__ import annotations

from robot_rl.nodes.ros_entry import run_ros_node


def main(args: list[str] | None = None) -> None:
    """Entry point of `ros2 run robot_rl_ros reset`."""
    raise SystemExit(run_ros_node("reset", args))


if __name__ == "__main__":
    main()
