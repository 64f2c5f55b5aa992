"""robot_rl_ros: one thin rclpy executable per robot_rl node.

Each module only hands its ROS arguments to `robot_rl.nodes.ros_entry.run_ros_node`; the
node logic, its config dataclass (= its ROS parameters) and its topics are in robot_rl.
"""
