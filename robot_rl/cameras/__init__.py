"""robot_rl.cameras."""
