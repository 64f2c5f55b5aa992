"""robot_rl.rewards."""
