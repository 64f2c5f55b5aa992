"""`ActorCore`: steps an env with the newest policy weights it has and numbers every
transition it emits. It never waits for the learner: weights arrive when they arrive,
transitions wait in the resend window (robot_rl.loop.delivery) until acknowledged.

With a human-in-the-loop session each step is arbitrated (the operator's command against
the policy's proposal) and routed (robot_rl.hil.routing): one env step then yields 0, 1 or
2 transitions, each naming its learner buffer.

Bus-free: the in-process link (robot_rl.train.run) hands it a `TwinEnv` (or any gymnasium
env through robot_rl.loop.envs) and the learner's ``receive``; the actor node
(robot_rl.nodes.actor) hands it a `BusEnv` and a publisher.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from robot_rl.agents.config import updates_due
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.eval.seeds import TRAIN_SEED_STRIDE
from robot_rl.hil.session import HilSession
from robot_rl.loop.control import EpisodeControl
from robot_rl.loop.delivery import TransitionSender
from robot_rl.loop.types import EpisodeStats, Transition

if TYPE_CHECKING:
    from robot_rl.train.config import TrainConfig

# The operator's newest command, given the policy's proposal and the arbiter clock (s).
CommandSource = Callable[[np.ndarray, float], TeleopCommand | None]


class Policy(Protocol):
    """What the actor needs of an agent (robot_rl.agents.sac.SACAgent)."""

    def act(self, obs: Mapping[str, Any], deterministic: bool = False) -> np.ndarray: ...

    def load_trainable_state(self, state: Mapping[str, Any]) -> None: ...


@dataclass
class ActorSettings:
    """Settings of one actor (the learning settings are the learner's)."""

    actor_id: str = "actor0"  # unique per actor; the learner acknowledges per actor_id
    seed: int = 0  # episode k resets with seed * 1_000_003 + k (< 0: the cell chooses)
    random_steps: int = 0  # uniform-random actions for the first N env steps
    deterministic: bool = False  # act with the policy mean (evaluation)
    max_unacked: int = 5000  # kept for resending; beyond it new transitions are dropped
    resend_timeout_s: float = 1.0  # wall s without ack progress before resending
    success_key: str = "success"  # info key of the env that says an episode succeeded
    # Failure-targeted resets (TwinRL): this fraction of episodes reset to one of these
    # seeds (configurations a failure search found) instead of the episode's own seed.
    failure_seeds: tuple[int, ...] = ()
    failure_frac: float = 0.0
    # Actor ``stream`` of ``streams`` sharing one run (``robot-rl train --num-envs``): its
    # episode k is the run's episode k * streams + stream, so the actors' reset seeds
    # interleave and never coincide, and their union is a one-actor run's seed range.
    stream: int = 0
    streams: int = 1


def episode_seed(seed: int, episode: int, stream: int = 0, streams: int = 1) -> int:
    """Reset seed of episode ``episode`` of actor ``stream`` of ``streams`` (`ActorSettings`):
    a resumed run continues the same sequence."""
    return -1 if seed < 0 else seed * TRAIN_SEED_STRIDE + episode * streams + stream


def reset_seed(settings: ActorSettings, episode: int) -> int:
    """Reset seed of episode ``episode``: its `episode_seed`, or with probability
    ``failure_frac`` one of ``failure_seeds``. A pure function of the episode, so a resumed
    run draws the same sequence."""
    seed = episode_seed(settings.seed, episode, settings.stream, settings.streams)
    if seed < 0 or not settings.failure_seeds or settings.failure_frac <= 0.0:
        return seed
    rng = np.random.default_rng([seed, 0x7A11])  # its own stream: not the actor's rng
    if rng.random() >= settings.failure_frac:
        return seed
    return int(settings.failure_seeds[rng.integers(len(settings.failure_seeds))])


class ActorCore:
    """See the module docstring. ``publish`` hands a transition to the link (non-blocking);
    ``clock`` gives the arbiter's time in seconds (sim or bus time)."""

    def __init__(
        self,
        env: Any,
        policy: Policy,
        settings: ActorSettings,
        publish: Callable[[Transition], object],
        hil: HilSession | None = None,
        commands: CommandSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        control: EpisodeControl | None = None,
    ) -> None:
        if (hil is None) != (commands is None):
            raise ValueError("a human-in-the-loop session needs a command source, and back")
        self.env, self.policy, self.settings = env, policy, settings
        self.hil, self.commands, self.clock = hil, commands, clock
        self.control = control  # the operator's episode requests (robot_rl.loop.control)
        self.action_dim = int(np.prod(env.action_space.shape))
        self.sender = TransitionSender(publish, settings.max_unacked, settings.resend_timeout_s)
        # Warm-up actions; stream 0 draws what a lone actor draws ([x, 0] seeds as x does).
        self.rng = np.random.default_rng([max(settings.seed, 0) + 17, settings.stream])
        self.policy_version = 0  # no learner weights yet: the learner counts from 1 (UInt64)
        self.policy_updates = 0  # gradient updates behind the weights in use
        self.env_steps = 0  # env steps taken, over all runs
        self.episodes = 0  # episodes started, over all runs (the next episode's id)
        self.finished: list[EpisodeStats] = []  # drained by the driver
        self.aborted = 0
        self.sim_blowups = 0  # of the aborted: steps whose physics blew up (twin)
        self._obs: dict[str, Any] | None = None
        self.last_info: dict[str, Any] = {}  # the env's info of the last step (for displays)
        self._stamp_ns = 0
        self._step = 0
        self._ret = 0.0

    def resume(self, env_steps: int, episodes: int, acked_seq: int) -> None:
        """Continue a run: counters from the learner's checkpoint, seqs after its ack."""
        self.env_steps, self.episodes = env_steps, episodes
        self.sender.next_seq = self.sender.acked = acked_seq
        self.sender.next_seq += 1

    def load_weights(self, state: Mapping[str, Any]) -> bool:
        """Take a newer weight version (``state["policy_version"]``); older or equal ones
        are ignored. Returns True when loaded."""
        version = int(state["policy_version"])
        if version <= self.policy_version:
            return False
        self.policy.load_trainable_state(state)
        self.policy_version = version
        self.policy_updates = int(state.get("updates", 0))
        return True

    @property
    def episode_step(self) -> int:
        """Index of the next step within the current episode."""
        return self._step

    @property
    def in_episode(self) -> bool:
        """True between a reset and the end of its episode."""
        return self._obs is not None

    def begin_episode(self) -> dict[str, Any]:
        """Reset the env (it may raise: the episode then does not count). Returns obs."""
        obs, info = self.env.reset(seed=reset_seed(self.settings, self.episodes))
        self._obs, self._step, self._ret = obs, 0, 0.0
        self._stamp_ns = int(info.get("stamp_ns", time.time_ns()))
        self.episodes += 1
        if self.hil is not None:
            self.hil.reset()
        if self.control is not None:
            self.control.episode_begun()
        return obs

    def abort_episode(self) -> None:
        """End the current episode without a transition (the cell stopped answering)."""
        if self._obs is not None:
            self.aborted += 1
            self._obs = None
            if self.hil is not None:
                self.hil.end_episode()

    def _propose(self, obs: dict[str, Any]) -> np.ndarray:
        if self.env_steps < self.settings.random_steps:
            return self.rng.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)
        return np.asarray(self.policy.act(obs, self.settings.deterministic), dtype=np.float32)

    def step(self) -> list[Transition]:
        """One env step (resetting first when needed); returns its numbered transitions,
        none while the operator holds the actor (`EpisodeControl`: paused, or waiting for a
        start). The env may raise (a stale cell): call `abort_episode` then."""
        ctl = self.control
        if ctl is not None:
            ctl.poll(self.in_episode)
            if ctl.reset_requested:
                self.abort_episode()
                self.begin_episode()  # the env resets (the bus env calls the reset node)
            if not ctl.may_step(self.in_episode):
                return []
            if ctl.take_resumed() and self._obs is not None and hasattr(self.env, "reobserve"):
                self._obs = self.env.reobserve()  # a cell that ran on while paused (bus env)
        if self._obs is None:
            self.begin_episode()
        obs = self._obs
        assert obs is not None
        action = self._propose(obs)
        decision = None
        if self.hil is not None and self.commands is not None:
            now_s = self.clock()
            decision = self.hil.act(obs, action, self.commands(action, now_s), now_s)
            action = np.asarray(decision.action, dtype=np.float32)
        if decision is not None and getattr(self.env, "flags_interventions", False):
            # A cell that marks human-driven actions (the bus env's Action message).
            step = self.env.step(action, intervened=decision.intervened)
        else:
            step = self.env.step(action)
        next_obs, reward, terminated, truncated, info = step
        self.last_info = info
        if info.get("sim_blowup", False):
            # The twin's physics blew up in this step: what follows is a reset, not the
            # action's outcome. No transition; the episode ends as an aborted one.
            self.env_steps += 1
            self.sim_blowups += 1
            self.abort_episode()
            return []
        success = bool(info.get(self.settings.success_key, False))
        if ctl is not None:  # a human label ends the episode (robot_rl.loop.control)
            reward, terminated, truncated, success = ctl.apply_label(
                float(reward), bool(terminated), bool(truncated), success
            )
        self.env_steps += 1
        self._ret += float(reward)
        executed = Transition(
            self.settings.actor_id, 0, self.episodes - 1, self._step, self._stamp_ns, dict(obs),
            action, float(reward), dict(next_obs), bool(terminated), bool(truncated), False,
            self.policy_version,
        )  # fmt: skip
        routed = [executed]
        if decision is not None and self.hil is not None:  # 0, 1 or 2 (module docstring)
            routed = self.hil.route(executed, decision)
        out = []
        for t in routed:
            seq = self.sender.send(partial(_with_seq, t))
            if seq is not None:
                out.append(self.sender.unacked[seq])
        self._step += 1
        self._stamp_ns = int(info.get("stamp_ns", time.time_ns()))
        if terminated or truncated:
            self._finish(success)
        else:
            self._obs = next_obs
        return out

    def _finish(self, success: bool) -> None:
        stats = self.hil.end_episode() if self.hil is not None else {}
        self.finished.append(
            EpisodeStats(
                self.episodes - 1,
                self._step,
                self._ret,
                success,
                int(stats.get("hil/interventions", 0)),
                int(stats.get("hil/human_steps", 0)),
            )
        )
        self._obs = None


def _with_seq(template: Transition, seq: int) -> Transition:
    return dataclasses.replace(template, seq=seq)


def weights_behind(sent: int, lag: int, updates: int, cfg: TrainConfig) -> bool:
    """True when weights trained with ``updates`` gradient updates miss some the replay
    ratio owes for this actor's steps older than its last ``lag`` (of ``sent``). Never
    before ``batch_size`` such steps: the learner starts at one batch. An actor that waits
    while this holds has the in-process job's policy lag when ``lag`` is at least
    ``weights_every_updates / replay_ratio`` (a smaller one can wait for weights that the
    learner publishes only ``weights_every_updates`` apart)."""
    old = sent - lag
    if old < cfg.sac.batch_size:
        return False
    return updates < updates_due(old - cfg.random_steps, 0, cfg.sac.replay_ratio)
