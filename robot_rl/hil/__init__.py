"""robot_rl.hil."""
