"""Preallocated ring replay that stores every frame once.

Layout: slot i holds one observation (uint8 images, float32 state) and, if
``next_valid[i]``, the transition that leaves it (action, reward, flags) whose next
observation is slot (i + 1) % capacity. A segment of T steps (an episode, or the
stretch of an episode that reached this buffer) uses T + 1 slots: its last slot holds
the final next observation with ``next_valid`` False, so the last transition keeps its
true next frame although no step follows it. Memory is (T + 1) / T of the raw frames.

Segments end at terminated/truncated steps, and also wherever the next ``add`` does not
start at the previously stored next observation (e.g. a demo buffer that only receives
intervention steps). That is detected by comparing the observation, so callers need no
extra bookkeeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robot_rl.agents.pixels import check_uint8_array
from robot_rl.agents.types import Batch, ObsSpec

_FLAGS = ("terminated", "truncated", "intervened")


class ReplayBuffer:
    """Uniform replay over stored transitions; capacity counted in frames (slots).

    Not thread-safe: one writer and one sampler must be serialised by the caller.
    """

    def __init__(self, capacity: int, spec: ObsSpec, action_dim: int) -> None:
        if capacity < 2:
            raise ValueError("capacity must hold at least one transition (2 frames)")
        self.capacity, self.spec, self.action_dim = capacity, spec, action_dim
        self.state = np.zeros((capacity, spec.state_dim), np.float32)
        self.images = {c: np.zeros((capacity, *spec.image_shape), np.uint8) for c in spec.cameras}
        self.action = np.zeros((capacity, action_dim), np.float32)
        self.reward = np.zeros(capacity, np.float32)
        self.flags = {f: np.zeros(capacity, bool) for f in _FLAGS}
        self.next_valid = np.zeros(capacity, bool)  # slot i starts a transition to i + 1
        self._cursor = 0  # next slot to write
        self._filled = 0  # slots ever written, capped at capacity
        self._pending: int | None = None  # slot of the last next-obs that may continue
        self._num_valid = 0

    # --- writing ----------------------------------------------------------------------

    @property
    def num_transitions(self) -> int:
        """Transitions that can be sampled now."""
        return self._num_valid

    @property
    def nbytes(self) -> int:
        """Bytes held by the preallocated arrays."""
        arrays = [self.state, self.action, self.reward, self.next_valid]
        arrays += list(self.images.values()) + list(self.flags.values())
        return sum(a.nbytes for a in arrays)

    def _invalidate(self, slots: np.ndarray) -> None:
        slots = np.unique(slots)  # a claim of the whole ring lists its predecessor twice
        self._num_valid -= int(self.next_valid[slots].sum())
        self.next_valid[slots] = False

    def _claim(self, n: int) -> np.ndarray:
        """Reserve n consecutive slots (wrapping); transitions touching them die."""
        slots = (self._cursor + np.arange(n)) % self.capacity
        # The overwritten slots' own transitions, and the one that pointed into the first.
        self._invalidate(np.append(slots, (slots[0] - 1) % self.capacity))
        self._cursor = int((slots[-1] + 1) % self.capacity)
        self._filled = min(self.capacity, self._filled + n)
        return slots

    def _check_obs(self, obs: Mapping[str, Any]) -> np.ndarray:
        state = np.asarray(obs["state"], dtype=np.float32)
        if state.shape != (self.spec.state_dim,):
            raise ValueError(f"state shape {state.shape}, expected ({self.spec.state_dim},)")
        images = obs.get("images", {})
        for c in self.spec.cameras:
            check_uint8_array(images[c], c, self.spec.image_shape)
        return state

    def _write_frame(self, slot: int, state: np.ndarray, obs: Mapping[str, Any]) -> None:
        self.state[slot] = state
        for c in self.spec.cameras:
            self.images[c][slot] = obs["images"][c]

    def _continues(self, state: np.ndarray, obs: Mapping[str, Any]) -> bool:
        p = self._pending
        if p is None or not np.array_equal(self.state[p], state):
            return False
        return all(np.array_equal(self.images[c][p], obs["images"][c]) for c in self.spec.cameras)

    def add(
        self,
        obs: Mapping[str, Any],
        action: np.ndarray,
        reward: float,
        next_obs: Mapping[str, Any],
        terminated: bool,
        truncated: bool,
        intervened: bool = False,
    ) -> None:
        """Store one transition. Each frame is copied once; the obs is reused when it is
        the previous next_obs. Raises on wrong shapes or non-uint8 images."""
        state, next_state = self._check_obs(obs), self._check_obs(next_obs)
        act = np.asarray(action, np.float32)
        if act.shape != (self.action_dim,):
            raise ValueError(f"action shape {act.shape}, expected ({self.action_dim},)")
        if self._continues(state, obs):
            assert self._pending is not None
            start = self._pending
            nxt = int(self._claim(1)[0])
        else:
            start, nxt = (int(s) for s in self._claim(2))
            self._write_frame(start, state, obs)
        self._write_frame(nxt, next_state, next_obs)
        self.action[start] = act
        self.reward[start] = reward
        for name, value in zip(_FLAGS, (terminated, truncated, intervened), strict=True):
            self.flags[name][start] = value
        self.next_valid[start] = True
        self._num_valid += 1
        self._pending = None if (terminated or truncated) else nxt

    def add_segment(
        self,
        states: np.ndarray,
        images: Mapping[str, np.ndarray],
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        intervened: np.ndarray,
    ) -> None:
        """Store a contiguous segment at once: T + 1 frames, T steps (vectorised).

        Used to load demos; the segment never continues into a later ``add``.
        """
        t = int(rewards.shape[0])
        if t == 0:
            return
        if states.shape[0] != t + 1 or actions.shape != (t, self.action_dim):
            raise ValueError("a segment needs T + 1 frames and (T, action_dim) actions")
        if t + 1 > self.capacity:
            raise ValueError(f"segment of {t + 1} frames exceeds capacity {self.capacity}")
        for c in self.spec.cameras:
            check_uint8_array(images[c], c, self.spec.image_shape)
        slots = self._claim(t + 1)
        self.state[slots] = states
        for c in self.spec.cameras:
            self.images[c][slots] = images[c]
        steps = slots[:-1]
        self.action[steps] = actions
        self.reward[steps] = rewards
        for name, value in zip(_FLAGS, (terminated, truncated, intervened), strict=True):
            self.flags[name][steps] = value
        self.next_valid[steps] = True
        self._num_valid += t
        self._pending = None

    def extend(self, src: ReplayBuffer) -> int:
        """Append every transition of ``src``, oldest first, sharing frames as ``add`` does
        (prior data for a new run). Returns the count. Raises ValueError, storing nothing,
        when it might overwrite what this buffer holds or the specs differ."""
        if (src.spec, src.action_dim) != (self.spec, self.action_dim):
            raise ValueError(f"replay spec {src.spec} / {src.action_dim} != {self.spec}")
        if src._filled > self.capacity - self._filled:
            raise ValueError(
                f"{src._filled} frames do not fit the {self.capacity - self._filled} "
                f"free slots of a {self.capacity}-frame buffer"
            )
        start = src._cursor if src._filled == src.capacity else 0
        order = (start + np.arange(src._filled)) % src.capacity
        for i in order[src.next_valid[order]]:
            j = (i + 1) % src.capacity
            self.add(
                src._frame(i),
                src.action[i],
                float(src.reward[i]),
                src._frame(j),
                *(bool(src.flags[f][i]) for f in _FLAGS),
            )
        return int(src.next_valid.sum())

    def _frame(self, slot: int) -> dict[str, Any]:
        return {"state": self.state[slot], "images": {c: a[slot] for c, a in self.images.items()}}

    # --- reading ----------------------------------------------------------------------

    def valid_indices(self) -> np.ndarray:
        """Slots that start a stored transition (O(capacity); for tests and tools)."""
        return np.flatnonzero(self.next_valid)

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform over stored transitions (rejection sampling over filled slots)."""
        if self._num_valid == 0:
            raise ValueError("replay buffer holds no transition")
        if self._num_valid * 8 < self._filled:  # sparse: rejection would spin
            return rng.choice(self.valid_indices(), size=batch_size)
        out = np.empty(0, np.int64)
        while out.size < batch_size:
            cand = rng.integers(0, self._filled, size=2 * (batch_size - out.size) + 8)
            out = np.concatenate([out, cand[self.next_valid[cand]]])
        return out[:batch_size]

    def stored_states(self) -> np.ndarray:
        """The state of every stored frame that starts a transition (N, S), a copy."""
        return self.state[self.valid_indices()]

    def get(self, idx: np.ndarray, n_step: int = 1, discount: float = 1.0) -> Batch:
        """Transitions starting at slots ``idx`` (all must be valid).

        With ``n_step`` > 1 each row is an n-step transition: the discounted reward sum
        over up to n stored steps, stopped early by termination, truncation or the end of
        the stored segment; ``next_*`` is the frame after the last summed step and
        ``discount`` (B,) the factor that multiplies its value (discount^steps summed).
        """
        if not self.next_valid[idx].all():
            raise IndexError("some indices do not start a stored transition")
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        term, trunc = self.flags["terminated"], self.flags["truncated"]
        last = np.asarray(idx).copy()
        reward = self.reward[idx].astype(np.float32)
        factor = np.full(last.shape, discount, np.float32)
        done = term[idx].copy()
        alive = ~(done | trunc[idx])
        for _ in range(n_step - 1):
            step = (last + 1) % self.capacity
            alive &= self.next_valid[step]
            if not alive.any():
                break
            last = np.where(alive, step, last)
            reward += np.where(alive, factor * self.reward[last], 0.0).astype(np.float32)
            factor = np.where(alive, factor * discount, factor).astype(np.float32)
            done |= alive & term[last]
            alive &= ~(term[last] | trunc[last])
        nxt = (last + 1) % self.capacity
        return Batch(
            state=self.state[idx],
            images={c: a[idx] for c, a in self.images.items()},
            action=self.action[idx],
            reward=reward,
            next_state=self.state[nxt],
            next_images={c: a[nxt] for c, a in self.images.items()},
            terminated=done,
            truncated=trunc[last],
            intervened=self.flags["intervened"][idx],
            discount=factor,
        )

    def sample(
        self, batch_size: int, rng: np.random.Generator, n_step: int = 1, discount: float = 1.0
    ) -> Batch:
        """A uniform minibatch of ``batch_size`` transitions (with replacement)."""
        return self.get(self.sample_indices(batch_size, rng), n_step, discount)

    # --- persistence (see replay_io.py) -------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by a flat name (images as ``images/<camera>``)."""
        out = {
            "state": self.state,
            "action": self.action,
            "reward": self.reward,
            "next_valid": self.next_valid,
        }
        out.update({f"flags/{k}": v for k, v in self.flags.items()})
        out.update({f"images/{k}": v for k, v in self.images.items()})
        return out

    def cursor_state(self) -> dict[str, Any]:
        """Ring bookkeeping, JSON-serialisable."""
        return {
            "cursor": self._cursor,
            "filled": self._filled,
            "pending": self._pending,
            "num_valid": self._num_valid,
        }

    def restore_cursor_state(self, meta: Mapping[str, Any]) -> None:
        """Inverse of cursor_state(); arrays must already be loaded."""
        self._cursor = int(meta["cursor"])
        self._filled = int(meta["filled"])
        self._pending = None if meta["pending"] is None else int(meta["pending"])
        self._num_valid = int(meta["num_valid"])
