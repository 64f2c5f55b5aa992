"""robot_rl.data."""
