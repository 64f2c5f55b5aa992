"""robot_rl: a real-robot learning stack with a MuJoCo digital twin.

The core never imports rclpy; the ROS 2 layer lives in ``ros_ws/`` and ``robot_rl.bus``'s
``ros2`` backend, which import it lazily.
"""

__version__ = "0.1.0"
