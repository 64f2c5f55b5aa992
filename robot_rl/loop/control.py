"""`EpisodeControl`: the operator's episode requests, as `ActorCore` obeys them.

Any thread may `request` (the GUI server, a bus callback); `ActorCore.step` consults the
control between env steps, so both links (robot_rl.train.run and robot_rl.nodes.actor)
obey the same rules (docs/loop.md, "Episode controls"):

- **pause**: no env step is taken (no action goes out; a cell's bridge then holds the
  measured pose) until **resume**. A pause between episodes also holds off the next reset.
- **success** / **failure**: a human label. The next env step taken ends the episode with
  reward 1 (``terminated``) or 0 (``truncated``: the operator stopped the attempt, the
  state still bootstraps) stored on its transition. While paused the label waits for the
  resume. Between episodes (also during the reset) a label is ignored: nothing to label.
  With ``reward_source="human"`` the label is the only reward (HIL-SERL's success key:
  every other step gets 0, and an env that ends an episode by itself ends it as a
  truncation; give such a run a cell that never terminates, e.g. a bus env without a
  reward topic). With
  ``"env"`` the env's reward stands and the label confirms or contradicts it; a label
  whose verdict differs from the env's (the classifier's) success at that step counts as
  a disagreement.
- **reset**: the current episode (if any) ends without a transition, and the env resets
  (the bus env calls the reset node). A reset while paused resets and stays paused.
- **start**: with ``wait_for_start``, each episode begins only after a start; start also
  resumes a pause.

What the actor did is announced through `events` (drained by the driver: the actor node
publishes them on ``episode_events``, the in-process cockpit shows them).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Literal

REQUESTS = ("start", "pause", "resume", "success", "failure", "reset")
RewardSource = Literal["env", "human"]


@dataclass(frozen=True)
class Label:
    """A human label to apply to the next env step: ``success`` True (reward 1) or False
    (reward 0); ``source`` who sent it (for the announcement)."""

    success: bool
    source: str


class EpisodeControl:
    """See the module docstring. ``wait_for_start``: hold each episode until a start."""

    def __init__(self, wait_for_start: bool = False, reward_source: RewardSource = "env") -> None:
        if reward_source not in ("env", "human"):
            raise ValueError(f"reward_source must be 'env' or 'human', got {reward_source!r}")
        self.wait_for_start, self.reward_source = wait_for_start, reward_source
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[str, str]] = collections.deque(maxlen=100)
        self.paused = False
        self._resumed = False
        self.started = not wait_for_start  # the next episode may begin
        self.reset_requested = False
        self.label: Label | None = None
        self.events: list[tuple[str, str]] = []  # (kind, detail) announced; driver drains
        self.labels = 0  # labels applied
        self.disagreements = 0  # labels whose verdict differed from the env's success

    def request(self, kind: str, source: str = "") -> None:
        """Queue one request (any thread). Raises ValueError for an unknown ``kind``."""
        if kind not in REQUESTS:
            raise ValueError(f"unknown episode request {kind!r} (one of {', '.join(REQUESTS)})")
        with self._lock:
            self._queue.append((kind, source))

    def poll(self, in_episode: bool) -> None:
        """Take the queued requests into the state (the actor's thread, between steps)."""
        with self._lock:
            queued, self._queue = list(self._queue), collections.deque(maxlen=100)
        for kind, source in queued:
            if kind in ("pause", "resume", "start"):
                resume = kind != "pause"
                if self.paused == resume:  # a change: announce it
                    self.paused = not resume
                    self._resumed = resume
                    self.events.append(("pause" if self.paused else "resume", source))
                if kind == "start":
                    self.started = True
                    self.events.append(("start", source))
            elif kind == "reset":
                self.reset_requested = True
            elif in_episode:
                self.label = Label(kind == "success", source)
            else:
                self.events.append(("ignored", f"{kind} between episodes ({source})"))

    def may_step(self, in_episode: bool) -> bool:
        """Whether the actor may take an env step now (not paused; an episode may begin)."""
        return not self.paused and (in_episode or self.started)

    def episode_begun(self) -> None:
        """The actor reset the env: the next episode waits for a start again (if set), and
        labels that came before it (during the reset) are dropped: they were meant for the
        episode that had already ended."""
        self.started = not self.wait_for_start
        self.reset_requested = False
        self.label = None
        with self._lock:
            queued = list(self._queue)
            self._queue = collections.deque(
                (q for q in queued if q[0] not in ("success", "failure")), maxlen=100
            )
        for kind, source in queued:
            if kind in ("success", "failure"):
                self.events.append(("ignored", f"{kind} between episodes ({source})"))

    def apply_label(
        self, reward: float, terminated: bool, truncated: bool, env_success: bool
    ) -> tuple[float, bool, bool, bool]:
        """One env step's (reward, terminated, truncated, success) after the pending label;
        ``env_success`` is the env's (the classifier's) verdict on that step."""
        label, self.label = self.label, None
        if label is None:
            if self.reward_source == "human":
                return 0.0, False, truncated or terminated, False
            return reward, terminated, truncated, env_success
        self.labels += 1
        self.disagreements += label.success != env_success
        self.events.append(("success" if label.success else "failure", label.source))
        return float(label.success), label.success, not label.success, label.success

    def take_resumed(self) -> bool:
        """True once after the actor was resumed (its observation is old: take a fresh one)."""
        resumed, self._resumed = self._resumed, False
        return resumed

    def take_events(self) -> list[tuple[str, str]]:
        """The announcements since the last call."""
        out, self.events = self.events, []
        return out
