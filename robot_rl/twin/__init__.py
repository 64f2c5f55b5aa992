"""robot_rl.twin: the MuJoCo digital twin of the cell (scene, impedance loop, tasks)."""
