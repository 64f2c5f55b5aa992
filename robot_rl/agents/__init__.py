"""robot_rl.agents."""
