"""ROS 2 executable `impedance_bridge`: the impedance_bridge node of robot_rl.nodes on rclpy."""

from __future__ import annotations

from robot_rl.nodes.ros_entry import run_ros_node


def main(args: list[str] | None = None) -> None:
    """Entry point of `ros2 run robot_rl_ros impedance_bridge`."""
    raise SystemExit(run_ros_node("impedance_bridge", args))


if __name__ == "__main__":
    main()
