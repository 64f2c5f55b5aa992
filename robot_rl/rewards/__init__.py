"""robot_rl.rewards: reward sources for robots that cannot see their own success.

The actor calls a `source.RewardSource` once per step (camera frames in; reward, success
probability, decision and latency out), usually wrapped in `hold.SuccessHold`. Sources:
`classifier_reward.ClassifierReward` (trained success classifier, ResNet or CLIP
backbone), `vlm_rm.VlmRmReward` (zero-shot VLM-RM), `preference_reward.PreferenceReward`
(RL-VLM-F preference model) and `intervention.InterventionReward` (RLIF). `node.RewardNode`
serves any of them on the bus; `twin_labels` renders labelled twin frames; `cli` holds the
``robot-rl`` subcommands. Modules import torch lazily through their own imports, so this
package import stays cheap. See docs/rewards.md.
"""
