"""ROS 2 executable `gui`: the operator's cockpit node of robot_rl.nodes on rclpy."""

from __future__ import annotations

from robot_rl.nodes.ros_entry import run_ros_node


def main(args: list[str] | None = None) -> None:
    """Entry point of `ros2 run robot_rl_ros gui`."""
    raise SystemExit(run_ros_node("gui", args))


if __name__ == "__main__":
    main()
