"""robot_rl.train: the single-process training job on the twin (``robot-rl train``)."""
