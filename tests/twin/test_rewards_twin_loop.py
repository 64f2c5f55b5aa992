"""A classifier reward in the twin loop: env frames -> RewardSource / reward node -> estimates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs.robot_rl_interfaces import RewardEstimate
from robot_rl.bus.msgs.sensor_msgs import Image
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.envs.rollout import ExpertPolicy
from robot_rl.envs.twin_env import EnvConfig, TwinEnv
from robot_rl.rewards.backbones import reward_encoder_config
from robot_rl.rewards.classifier import ClassifierConfig, SuccessClassifier
from robot_rl.rewards.classifier_reward import ClassifierReward, save_classifier
from robot_rl.rewards.dataset import load_labelled_frames
from robot_rl.rewards.errors import RewardInputError
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.node import RewardNode, array_to_image
from robot_rl.rewards.train_classifier import TrainRewardConfig, train_success_classifier
from robot_rl.rewards.twin_labels import LabelGenConfig, generate_twin_labels
from robot_rl.twin.cell import CellConfig

pytestmark = pytest.mark.twin
torch.set_num_threads(1)
SIZE = (40, 40)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop")
    generate_twin_labels(root / "labels", LabelGenConfig(episodes=6, seed=11, image_size=SIZE))
    data = load_labelled_frames([root / "labels"])
    enc = reward_encoder_config(frozen=True, stage_widths=(8, 16), stem_width=8, bottleneck_dim=16)
    cfg = ClassifierConfig(cameras=data.cameras, image_shape=data.image_shape, encoder=enc)
    tcfg = TrainRewardConfig(steps=30, eval_every=15, val_fraction=0.34)
    result = train_success_classifier(SuccessClassifier(cfg), data, tcfg)
    return save_classifier(root / "model", result, tcfg)


def test_env_frames_feed_the_source_and_the_node(model_dir: Path) -> None:
    env = TwinEnv(EnvConfig(task="pick_cube", obs="pixels", cell=CellConfig(image_size=SIZE)))
    source = ClassifierReward.load(model_dir)
    held = SuccessHold(source, HoldConfig(hold_frames=2))
    bus = InprocBus()
    node = RewardNode(bus, source)
    got: list[RewardEstimate] = []
    bus.subscribe("reward_estimate", RewardEstimate, got.append)
    pubs = {
        c: bus.publisher(f"cameras/{c}/image_raw", Image, SENSOR_DATA) for c in ("wrist", "front")
    }
    policy = ExpertPolicy(env)
    obs, _ = env.reset(seed=11)
    policy.reset()
    held.reset()
    for step in range(8):
        obs, _, _, _, info = env.step(policy(obs))
        out = held(obs["images"])  # the env's observation dict is the source's input
        assert 0.0 <= out.success_prob <= 1.0 and out.latency_ms > 0
        stamp = round(info["t_sim_s"] * 1e9)
        for c, pub in pubs.items():  # wrist first: the front frame triggers the estimate
            pub.publish(array_to_image(obs["images"][c], stamp))
        assert len(got) == step + 1 and got[-1].header.stamp.to_ns() == stamp
    assert node.stats.published == 8 and node.stats.rejected == 0
    env.close()


def test_env_at_another_size_is_refused(model_dir: Path) -> None:
    env = TwinEnv(EnvConfig(task="pick_cube", obs="pixels", cell=CellConfig(image_size=(64, 64))))
    obs, _ = env.reset(seed=0)
    with pytest.raises(RewardInputError, match=r"image size \(64, 64\).*trained on \(40, 40\)"):
        ClassifierReward.load(model_dir)(obs["images"])
    env.close()
