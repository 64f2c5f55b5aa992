"""Transitions over the bus: conversion, the actor's resend window, the learner's intake.

Protocol (robot_rl_interfaces Transition / TransitionAck):
- an actor numbers its transitions 1, 2, 3, ... (``seq``, contiguous per ``actor_id``);
- the learner stores them in seq order and answers ``TransitionAck`` with the highest
  contiguous seq it has made durable (written to its log), also as a periodic heartbeat;
- the actor keeps every unacknowledged transition and, when acks stop advancing for
  ``resend_timeout_s`` (a lost message, a learner restart), sends them all again from the
  oldest (go-back-N). The learner drops seqs it already has and buffers early ones.
- An actor never blocks on the learner: past ``max_unacked`` kept transitions it stops
  numbering new ones and counts them as dropped, so seqs stay contiguous.
"""

from __future__ import annotations

import collections
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from robot_rl.agents.types import ObsSpec
from robot_rl.bus.msgs import Header, NamedArray, Time, Transition

T = TypeVar("T")
Buffer = Literal["online", "demo"]


def obs_to_arrays(obs: Mapping[str, Any]) -> list[NamedArray]:
    """An observation dict as NamedArrays: ``state`` and ``images/<camera>``."""
    out = [NamedArray.from_array("state", np.asarray(obs["state"], dtype=np.float32))]
    for cam, img in obs.get("images", {}).items():
        out.append(NamedArray.from_array(f"images/{cam}", np.asarray(img, dtype=np.uint8)))
    return out


def arrays_to_obs(arrays: list[NamedArray], spec: ObsSpec) -> dict[str, Any]:
    """Inverse of `obs_to_arrays`, checked against ``spec``; raises ValueError."""
    by_name = {a.name: a for a in arrays}
    expected = {"state"} | {f"images/{c}" for c in spec.cameras}
    if set(by_name) != expected:
        raise ValueError(f"observation arrays {sorted(by_name)}, expected {sorted(expected)}")
    state = by_name["state"].to_array()
    if state.dtype != np.float32 or state.shape != (spec.state_dim,):
        raise ValueError(f"state {state.dtype} {state.shape}, expected float32 ({spec.state_dim},)")
    obs: dict[str, Any] = {"state": state}
    if spec.cameras:
        images = {}
        for cam in spec.cameras:
            img = by_name[f"images/{cam}"].to_array()
            if img.dtype != np.uint8 or img.shape != spec.image_shape:
                raise ValueError(
                    f"image {cam} {img.dtype} {img.shape}, expected uint8 {spec.image_shape}"
                )
            images[cam] = img
        obs["images"] = images
    return obs


@dataclass(frozen=True)
class Step:
    """One transition as the replay buffer takes it."""

    obs: dict[str, Any]
    action: np.ndarray
    reward: float
    next_obs: dict[str, Any]
    terminated: bool
    truncated: bool
    intervened: bool
    buffer: Buffer = "online"  # the learner buffer it goes to (robot_rl.hil.routing)


_BUFFER_CODES: dict[str, int] = {"online": Transition.ONLINE, "demo": Transition.DEMO}


def make_transition(
    actor_id: str,
    seq: int,
    episode_id: int,
    step: int,
    stamp: Time,
    s: Step,
    policy_version: int,
) -> Transition:
    """The message for step ``s``."""
    return Transition(
        header=Header(stamp, ""),
        actor_id=actor_id,
        seq=seq,
        episode_id=episode_id,
        step=step,
        obs=obs_to_arrays(s.obs),
        next_obs=obs_to_arrays(s.next_obs),
        action=np.asarray(s.action, dtype=np.float32),
        reward=float(s.reward),
        terminated=bool(s.terminated),
        truncated=bool(s.truncated),
        intervened=bool(s.intervened),
        policy_version=policy_version,
        buffer=_BUFFER_CODES[s.buffer],
    )


def transition_step(msg: Transition, spec: ObsSpec, action_dim: int) -> Step:
    """The replay step carried by ``msg``; raises ValueError when it does not fit ``spec``."""
    action = np.asarray(msg.action, dtype=np.float32)
    if action.shape != (action_dim,) or not np.isfinite(action).all():
        raise ValueError(f"action shape {action.shape} (expected ({action_dim},)) or non-finite")
    if not np.isfinite(msg.reward):
        raise ValueError("non-finite reward")
    buffer: Buffer = "demo" if msg.buffer == Transition.DEMO else "online"
    if msg.buffer not in _BUFFER_CODES.values():
        raise ValueError(f"unknown buffer {msg.buffer}")
    return Step(
        arrays_to_obs(msg.obs, spec),
        action,
        float(msg.reward),
        arrays_to_obs(msg.next_obs, spec),
        bool(msg.terminated),
        bool(msg.truncated),
        bool(msg.intervened),
        buffer,
    )


def step_crc(
    action: Any, reward: float, terminated: bool, truncated: bool, intervened: bool
) -> int:
    """A content checksum of one step (float32 action and reward, flags), for cross-checks
    between what an actor sent and what a learner stored."""
    payload = np.asarray(action, dtype=np.float32).tobytes() + np.float32(reward).tobytes()
    return zlib.crc32(payload + bytes([bool(terminated), bool(truncated), bool(intervened)]))


def transition_crc(msg: Transition) -> int:
    """`step_crc` of a Transition message."""
    return step_crc(msg.action, msg.reward, msg.terminated, msg.truncated, msg.intervened)


class TransitionSender:
    """Actor side: numbers transitions, keeps the unacknowledged ones, resends them.

    Times are wall seconds (``time.monotonic``); nothing here blocks.
    """

    def __init__(
        self,
        publish: Callable[[Transition], None],
        max_unacked: int = 5000,
        resend_timeout_s: float = 1.0,
        resend_batch: int = 50,
    ) -> None:
        self._publish = publish
        self.max_unacked = max_unacked
        self.resend_timeout_s = resend_timeout_s
        self.resend_batch = resend_batch
        self.unacked: collections.OrderedDict[int, Transition] = collections.OrderedDict()
        self.next_seq = 1
        self.acked = 0
        self.dropped = 0
        self.resent = 0
        self._last_progress = time.monotonic()
        self._resend_queue: collections.deque[int] = collections.deque()

    def send(self, build: Callable[[int], Transition]) -> int | None:
        """Build (with the next seq) and publish a transition; returns its seq, or None when
        ``max_unacked`` are already waiting (then it is dropped and counted)."""
        if len(self.unacked) >= self.max_unacked:
            self.dropped += 1
            return None
        seq = self.next_seq
        msg = build(seq)
        if msg.seq != seq:
            raise ValueError(f"built transition has seq {msg.seq}, expected {seq}")
        if not self.unacked:
            self._last_progress = time.monotonic()
        self.unacked[seq] = msg
        self.next_seq += 1
        self._publish(msg)
        return seq

    def on_ack(self, highest_contiguous_seq: int) -> None:
        """Forget every transition up to the acknowledged seq."""
        if highest_contiguous_seq <= self.acked:
            return
        self.acked = min(highest_contiguous_seq, self.next_seq - 1)
        while self.unacked and next(iter(self.unacked)) <= self.acked:
            self.unacked.popitem(last=False)
        self._last_progress = time.monotonic()

    def poll(self) -> int:
        """Resend when acks stalled (go-back-N, ``resend_batch`` per call). Returns the
        number resent."""
        now = time.monotonic()
        stalled = now - self._last_progress >= self.resend_timeout_s
        if not self._resend_queue and self.unacked and stalled:
            self._resend_queue.extend(self.unacked.keys())
            self._last_progress = now  # the next round only after another timeout
        sent = 0
        while self._resend_queue and sent < self.resend_batch:
            seq = self._resend_queue.popleft()
            msg = self.unacked.get(seq)
            if msg is not None:
                self._publish(msg)
                sent += 1
        self.resent += sent
        return sent

    @property
    def all_acked(self) -> bool:
        """True when nothing waits for an acknowledgement."""
        return not self.unacked


class TransitionIntake(Generic[T]):
    """Learner side: per-actor contiguity. Items come out in seq order, each once."""

    def __init__(self, max_out_of_order: int = 10_000) -> None:
        self.max_out_of_order = max_out_of_order
        self.highest: dict[str, int] = {}  # highest contiguous seq taken, per actor
        self._early: dict[str, dict[int, T]] = {}
        self.duplicates = 0
        self.early_dropped = 0

    def receive(self, actor_id: str, seq: int, item: T) -> list[T]:
        """Items that are now next in line for ``actor_id`` (possibly none)."""
        highest = self.highest.get(actor_id, 0)
        if seq <= highest:
            self.duplicates += 1
            return []
        early = self._early.setdefault(actor_id, {})
        if seq > highest + 1:
            if seq in early:
                self.duplicates += 1
            elif len(early) >= self.max_out_of_order:
                self.early_dropped += 1  # it will come again with the resends
            else:
                early[seq] = item
            return []
        ready = [item]
        highest = seq
        while highest + 1 in early:
            highest += 1
            ready.append(early.pop(highest))
        self.highest[actor_id] = highest
        return ready

    def pending(self, actor_id: str) -> int:
        """Early items held for ``actor_id``."""
        return len(self._early.get(actor_id, {}))
