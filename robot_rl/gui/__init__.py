"""robot_rl.gui."""
