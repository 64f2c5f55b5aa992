"""robot_rl.envs."""
