"""A gymnasium env over the bus: the same API as `TwinEnv`, on the twin or on a robot.

    env = BusEnv(bus, ObsConfig(...), BusEnvConfig(...), spin=loop.spin_once)
    obs, info = env.reset(seed=0)        # calls the reset service, blocks until done
    obs, r, terminated, truncated, info = env.step(action)

``step`` publishes the action stamped with the observation time, waits until bus time
reaches the next policy period and every input is fresh (`ObsConfig.max_age_s`), then
returns. The reward and success come from ``reward`` (RewardEstimate) stamped for that
observation: the twin publishes its task reward there, a reward node
(robot_rl.rewards.node.RewardNode) does on the robot. ``terminated`` means success_prob >=
threshold, held for ``hold.hold_frames`` consecutive steps when the hold is on;
``truncated`` means the time limit, never both for one reason. Waits are bounded in wall
seconds and raise `StaleObservationError` (inputs stopped) or `ResetFailedError` (the reset
said no).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.bus.api import Bus
from robot_rl.bus.errors import BusError
from robot_rl.bus.msgs import (
    Action,
    EpisodeEvent,
    Header,
    Image,
    JointState,
    ObjectState,
    PoseStamped,
    Reset,
    ResetRequest,
    RewardEstimate,
    Time,
    WrenchStamped,
)
from robot_rl.nodes.convert import image_from_msg, pose_from_msg, wrench_from_msg
from robot_rl.nodes.observation import ObsConfig, ObservationAssembler, StaleObservationError
from robot_rl.nodes.qos import COMMANDS, EVENTS, IMAGES, STATE_SUB
from robot_rl.rewards.hold import HoldConfig, SuccessHold
from robot_rl.rewards.source import TWIN_BLOWUP_SOURCE, RewardOutput
from robot_rl.spec import ACTION_DIM

Spin = Callable[[float], int]


@dataclass
class BusEnvConfig:
    """Episode, timing and topic settings of the bus env."""

    policy_period_s: float = 0.1  # one step per period of bus time (10 Hz)
    episode_steps: int = 100  # time limit (steps); it truncates, never terminates
    obs_timeout_s: float = 10.0  # wall s to wait for fresh inputs before giving up
    reset_timeout_s: float = 30.0  # wall s the reset node may take
    success_threshold: float = 0.5  # success_prob at or above this is a per-step success
    # Success hold (robot_rl.rewards.hold) over the reward topic. hold_frames 0 = off: the
    # first per-step success terminates and the reward is the published one (the twin's
    # task reward). k >= 1: success only after k consecutive per-step successes (a reward
    # classifier flickers), with success_reward then and other_reward otherwise.
    hold: HoldConfig = field(default_factory=lambda: HoldConfig(hold_frames=0))
    frame_id: str = "base"
    action_topic: str = "action"
    reward_topic: str = "reward"  # "" = no reward source (reward 0, never terminated)
    reset_service: str = "reset"
    episode_events_topic: str = "episode_events"


class ResetFailedError(RuntimeError):
    """The reset service answered not-ok, or could not be reached."""


class EstimateSource:
    """The newest RewardEstimate of a step as a `RewardSource`, so that `SuccessHold`
    (robot_rl.rewards.hold) judges it exactly as it judges an in-process classifier."""

    name = "reward_topic"
    cameras: tuple[str, ...] = ()

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.latest = RewardOutput(0.0, math.nan, False, 0.0, self.name)

    def set(self, reward: float, success_prob: float) -> None:
        """The estimate of the step about to be judged."""
        success = not math.isnan(success_prob) and success_prob >= self.threshold
        self.latest = RewardOutput(reward, success_prob, success, 0.0, self.name)

    def reset(self) -> None:
        """Stateless."""

    def __call__(self, frames: Any) -> RewardOutput:
        return self.latest


class BusEnv(gym.Env[dict[str, Any], np.ndarray]):
    """A cell (twin or robot) seen through its topics; see the module docstring."""

    def __init__(
        self, bus: Bus, obs_cfg: ObsConfig, cfg: BusEnvConfig, spin: Spin, actor_id: str = ""
    ) -> None:
        self.bus, self.obs_cfg, self.cfg, self.spin = bus, obs_cfg, cfg, spin
        self.actor_id = actor_id
        self.assembler = ObservationAssembler(obs_cfg)
        # reward, success_prob, stamp, and whether the twin's physics blew up in that step
        self._reward: tuple[float, float, int, bool] | None = None
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        spaces: dict[str, gym.Space[Any]] = {
            "state": gym.spaces.Box(-np.inf, np.inf, (obs_cfg.state_dim,), np.float32)
        }
        if obs_cfg.cameras:
            shape = (obs_cfg.image_height, obs_cfg.image_width, 3)
            spaces["images"] = gym.spaces.Dict(
                {c: gym.spaces.Box(0, 255, shape, np.uint8) for c in obs_cfg.cameras}
            )
        self.observation_space = gym.spaces.Dict(spaces)
        self._action = bus.publisher(cfg.action_topic, Action, COMMANDS)
        self._events = bus.publisher(cfg.episode_events_topic, EpisodeEvent, EVENTS)
        a = self.assembler
        bus.subscribe(
            obs_cfg.current_pose_topic,
            PoseStamped,
            lambda m: a.on_pose(pose_from_msg(m), m.header.stamp.to_ns()),
            STATE_SUB,
        )
        bus.subscribe(
            obs_cfg.joint_states_topic,
            JointState,
            lambda m: a.on_joints(m.name, m.position, m.header.stamp.to_ns()),
            STATE_SUB,
        )
        bus.subscribe(
            obs_cfg.external_wrench_topic,
            WrenchStamped,
            lambda m: a.on_wrench(wrench_from_msg(m), m.header.stamp.to_ns()),
            STATE_SUB,
        )
        for cam in obs_cfg.cameras:
            bus.subscribe(obs_cfg.image_topic(cam), Image, self._image_callback(cam), IMAGES)
        if obs_cfg.object_state_dim:
            bus.subscribe(
                obs_cfg.object_state_topic,
                ObjectState,
                lambda m: a.on_object_state(m.state, m.header.stamp.to_ns(), m.task),
                STATE_SUB,
            )
        if cfg.reward_topic:
            bus.subscribe(cfg.reward_topic, RewardEstimate, self._on_reward, STATE_SUB)
        self.estimate = EstimateSource(cfg.success_threshold)
        self.hold = SuccessHold(self.estimate, cfg.hold) if cfg.hold.hold_frames > 0 else None
        self.obs_time_ns = 0  # bus time of the current observation
        self.steps = 0
        self.episode_id = 0
        self.step_seq = 0  # Action.seq: steps sent by this env, over all episodes
        self.policy_version = 0  # stamped into each Action

    def _image_callback(self, camera: str) -> Callable[[Image], None]:
        def on_image(msg: Image) -> None:
            try:
                rgb = image_from_msg(msg)
            except ValueError:
                self.assembler.rejected[camera] = self.assembler.rejected.get(camera, 0) + 1
                return
            self.assembler.on_image(camera, rgb, msg.header.stamp.to_ns())

        return on_image

    def _on_reward(self, msg: RewardEstimate) -> None:
        stamp, blowup = msg.header.stamp.to_ns(), msg.source == TWIN_BLOWUP_SOURCE
        self._reward = (float(msg.reward), float(msg.success_prob), stamp, blowup)

    # ------------------------------------------------------------------ waiting
    def _wait(self, ready: Callable[[], bool], describe: Callable[[], str]) -> None:
        deadline = time.monotonic() + self.cfg.obs_timeout_s
        while not ready():
            if time.monotonic() >= deadline:
                raise StaleObservationError(describe())
            self.spin(0.01)

    def _fresh_at(self, t_ns: int) -> bool:
        if self.assembler.stale(t_ns):
            return False
        return not self.cfg.reward_topic or self._fresh_reward(t_ns)

    def _describe_stale(self, t_ns: int) -> str:
        stale = self.assembler.stale(t_ns)
        parts = [
            f"{k}: {'never received' if v is None else f'{v:.3f} s old'}" for k, v in stale.items()
        ]
        if self.cfg.reward_topic and not self._fresh_reward(t_ns):
            parts.append(f"{self.cfg.reward_topic}: stale or never received")
        objects = self.obs_cfg.object_state_topic
        if self.assembler.object_problem:
            parts.append(self.assembler.object_problem)
        elif self.obs_cfg.object_state_dim and objects in stale and stale[objects] is None:
            parts.append(
                f"the policy reads the twin's privileged {objects} "
                "(obs.object_state_dim > 0), which only the twin publishes; a real cell has "
                "none: train such a policy on the twin, or set obs.object_state_dim 0"
            )
        return (
            f"observation at bus time {t_ns * 1e-9:.3f} s not fresh within "
            f"{self.cfg.obs_timeout_s:g} s (max age {self.obs_cfg.max_age_s:g} s): "
            + "; ".join(parts)
        )

    def _fresh_reward(self, t_ns: int) -> bool:
        oldest = t_ns - round(self.obs_cfg.max_age_s * 1e9)
        return self._reward is not None and self._reward[2] >= oldest

    def _observe(self, t: int) -> dict[str, Any]:
        """The observation at bus time ``t`` (ns), once every input is fresh for it."""
        self._wait(
            lambda: self.bus.now().to_ns() >= t,
            lambda: (
                f"bus time stuck at {self.bus.now().to_s():.3f} s, waiting for {t * 1e-9:.3f} s"
            ),
        )
        self._wait(lambda: self._fresh_at(t), lambda: self._describe_stale(t))
        self.obs_time_ns = t
        return self.assembler.observation()

    def announce(self, kind: int, detail: str = "") -> None:
        """Publish an `EpisodeEvent` of ``kind`` for the current episode."""
        self._events.publish(
            EpisodeEvent(Header(self.bus.now(), ""), kind, self.episode_id, detail)
        )

    def reobserve(self) -> dict[str, Any]:
        """A fresh observation at the next policy boundary (after a reset, or after the
        actor was paused while the cell ran on); the next `step` acts from it."""
        # Take what queued (the clock, the state) before deciding the observation time.
        self.spin(0.0)
        newest = max((t for t in self.assembler.stamps().values() if t is not None), default=0)
        t_ref = max(self.bus.now().to_ns(), newest)
        # Observations sit on a grid of the policy period (where a lock-step twin stops;
        # the reset node replies while the twin waits at such a boundary).
        period = round(self.cfg.policy_period_s * 1e9)
        return self._observe(-(-t_ref // period) * period)

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        request = ResetRequest(-1 if seed is None else int(seed), self.cfg.reset_timeout_s)
        # Not the blocking bus.request: spinning the node loop lets the other nodes of a
        # single-process graph (the reset node, the twin) work while the reset runs.
        pending = self.bus.request_async(
            self.cfg.reset_service, Reset, request, self.cfg.reset_timeout_s + 5.0
        )
        while not pending.done():
            self.spin(0.01)
        try:
            reply = pending.result()
        except BusError as exc:
            raise ResetFailedError(f"reset service {self.cfg.reset_service!r}: {exc}") from exc
        if not reply.ok:
            raise ResetFailedError(f"reset service {self.cfg.reset_service!r}: {reply.message}")
        obs = self.reobserve()
        self.steps = 0
        self.episode_id += 1
        if self.hold is not None:
            self.hold.reset()
        self.announce(EpisodeEvent.START, self.actor_id)
        return obs, {"reset": reply.message, "stamp_ns": self.obs_time_ns}

    flags_interventions = True  # ActorCore passes ``intervened`` to `step`

    def step(
        self, action: np.ndarray, intervened: bool = False
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Execute ``action`` (flagged ``intervened`` in the Action message when a human
        drove this step) and return the next observation and the step's reward."""
        a = np.asarray(action, dtype=np.float32).reshape(-1)
        self.step_seq += 1
        header = Header(Time.from_ns(self.obs_time_ns), self.cfg.frame_id)
        self._action.publish(Action(header, self.step_seq, self.policy_version, a, intervened))
        obs = self._observe(self.obs_time_ns + round(self.cfg.policy_period_s * 1e9))
        self.steps += 1
        reward, success_prob = (0.0, 0.0) if self._reward is None else self._reward[:2]
        terminated = bool(self.cfg.reward_topic) and success_prob >= self.cfg.success_threshold
        if self.hold is not None and self.cfg.reward_topic:
            self.estimate.set(reward, success_prob)
            held = self.hold({})
            reward, terminated = held.reward, held.success
        truncated = not terminated and self.steps >= self.cfg.episode_steps
        blowup = self._reward is not None and self._reward[3]
        if blowup:  # the twin reset its physics: as TwinEnv.end_step, no reward, no success
            reward, terminated, truncated = 0.0, False, True
        if terminated or truncated:
            why = "physics blowup" if blowup else "time limit"
            self.announce(EpisodeEvent.END, "success" if terminated else why)
        info = {"success": terminated, "stamp_ns": self.obs_time_ns, "sim_blowup": blowup}
        return obs, reward, terminated, truncated, info

    def abort(self, reason: str) -> None:
        """Report an episode stopped early (stale inputs, a fault)."""
        self.announce(EpisodeEvent.ABORT, reason)
