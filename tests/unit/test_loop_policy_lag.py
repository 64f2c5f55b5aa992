"""The graph actor's wait for its learner (max_policy_lag_steps): when the weights in use
are behind, and the update count travelling with the weights."""

from __future__ import annotations

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.msgs import PolicyWeights, Time
from robot_rl.loop.actor import weights_behind
from robot_rl.nodes.observation import ObsConfig
from robot_rl.nodes.policy import PolicyConfig, build_agent
from robot_rl.nodes.weights import msg_to_weights, weights_to_msg
from robot_rl.train.config import default_config, from_dict

CFG = from_dict(
    {"random_steps": 100, "sac": {"batch_size": 64, "replay_ratio": 2.0}},
    base=default_config("reach", "state"),
)


def test_nothing_is_owed_before_one_batch_of_old_steps() -> None:
    assert not weights_behind(sent=80, lag=20, updates=0, cfg=CFG)  # 60 old steps < 64
    assert not weights_behind(sent=10, lag=26, updates=0, cfg=CFG)


def test_weights_are_behind_until_they_hold_the_owed_updates() -> None:
    # 300 sent, the last 26 may be unlearned: (274 - 100 random) x 2 = 348 updates owed.
    assert weights_behind(sent=300, lag=26, updates=347, cfg=CFG)
    assert not weights_behind(sent=300, lag=26, updates=348, cfg=CFG)
    # During the random warm-up nothing is owed once a batch is stored.
    assert not weights_behind(sent=90, lag=5, updates=0, cfg=CFG)


def test_the_update_count_travels_with_the_weights() -> None:
    obs = ObsConfig()
    small = "{sac: {actor: {hidden_dims: [16]}, critic: {hidden_dims: [16]}}}"
    state = build_agent(PolicyConfig(task="reach", overrides=small), obs).trainable_state()
    state["updates"] = 1234
    msg = decode(PolicyWeights, encode(weights_to_msg(state, 3, Time(1, 0))))
    back = msg_to_weights(msg)
    assert back["updates"] == 1234 and back["policy_version"] == 3
    del state["updates"]  # weights from an older learner carry none
    assert "updates" not in msg_to_weights(weights_to_msg(state, 4, Time(1, 0)))
