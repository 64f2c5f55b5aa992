"""robot_rl.calibration."""
