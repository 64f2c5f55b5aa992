"""robot_rl.bus."""
