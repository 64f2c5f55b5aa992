"""QoS choices of the node graph (presets in `robot_rl.bus.qos`, docs/bus.md).

Subscriptions to robot state, images and rewards are best effort: a best-effort reader
matches every publisher, whatever QoS the robot driver (crisp_controllers,
realsense2_camera) offers. Commands, transitions and acks are reliable.
"""

from __future__ import annotations

from robot_rl.bus.qos import DEFAULT, LATCHED, SENSOR_DATA, QoS

COMMANDS = DEFAULT  # action, goal_pose, target_pose, gripper command
STATE_PUB = DEFAULT  # what the twin publishes (reliable: lock-step waits on it)
STATE_SUB = SENSOR_DATA  # current_pose, joint_states, external_wrench, reward
IMAGES = SENSOR_DATA  # cameras/<name>/image_raw, both ends
CAMERA_INFO = LATCHED  # cameras/<name>/camera_info (a late subscriber still gets it)
TRANSITIONS = QoS(depth=100)  # actor -> learner; losses are recovered by seq/ack resends
ACKS = DEFAULT  # learner -> actors
WEIGHTS = LATCHED  # learner -> actors, the newest version reaches late joiners
EVENTS = DEFAULT  # episode events, diagnostics
