"""Stored calibration results of each cell (installed as ``robot_rl.cells``)."""
