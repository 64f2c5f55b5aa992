"""The one actor/learner core, shared by ``robot-rl train`` and the ROS 2 graph.

- `types`: the transition that crosses the actor -> learner link, and episode stats.
- `delivery`: sequence numbers, the actor's resend window, the learner's ordered intake.
- `actor`: `ActorCore` (policy, intervention, episodes, numbering).
- `learner`: `LearnerCore` (intake, write-ahead log, buffers, updates, weights).
- `checkpoint`: the one atomic checkpoint layout both links write and resume.
- `envs`: adapters that let any gymnasium env feed the core (action scaling, obs layout).

Two links drive the core: in-process (`robot_rl.train.run`) and the bus
(`robot_rl.nodes.actor`, `robot_rl.nodes.learner`). See docs/loop.md.
"""
