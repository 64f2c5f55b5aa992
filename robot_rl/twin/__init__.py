"""robot_rl.twin."""
