"""Symmetric sampling: each batch mixes the demo/intervention and the online buffer."""

from __future__ import annotations

import numpy as np

from robot_rl.agents.config import SACConfig
from robot_rl.agents.replay import ReplayBuffer
from robot_rl.agents.types import Batch, concat_batches


def demo_count(batch_size: int, demo_fraction: float, demo_size: int, online_size: int) -> int:
    """Transitions to draw from the demo buffer; all from one side if the other is empty."""
    if demo_size == 0:
        return 0
    if online_size == 0:
        return batch_size
    return round(batch_size * demo_fraction)


class MixedSampler:
    """RLPD-style batches: ``demo_fraction`` from ``demo``, the rest from ``online``.

    The split is fixed per batch (not a coin flip per sample), so the demo share does not
    shrink as the online buffer grows.
    """

    def __init__(
        self,
        online: ReplayBuffer,
        demo: ReplayBuffer | None,
        demo_fraction: float = 0.5,
        seed: int = 0,
        n_step: int = 1,
        discount: float = 1.0,
    ) -> None:
        if not 0.0 <= demo_fraction <= 1.0:
            raise ValueError(f"demo_fraction {demo_fraction} not in [0, 1]")
        self.online, self.demo, self.demo_fraction = online, demo, demo_fraction
        self.rng = np.random.default_rng(seed)
        self.n_step, self.discount = n_step, discount

    @classmethod
    def for_agent(
        cls, online: ReplayBuffer, demo: ReplayBuffer | None, config: SACConfig, seed: int
    ) -> MixedSampler:
        """The sampler an agent with ``config`` trains on (mix, n-step, discount)."""
        return cls(online, demo, config.replay.demo_fraction, seed, config.n_step, config.discount)

    def stored_states(self) -> np.ndarray:
        """Every stored transition's state from both buffers (for state statistics)."""
        parts = [self.online.stored_states()]
        if self.demo is not None:
            parts.append(self.demo.stored_states())
        return np.concatenate(parts)

    def sample(self, batch_size: int) -> Batch:
        """Demo rows first, then online rows; raises if both buffers are empty."""
        demo_size = self.demo.num_transitions if self.demo is not None else 0
        n_demo = demo_count(batch_size, self.demo_fraction, demo_size, self.online.num_transitions)
        parts = []
        if n_demo > 0:
            assert self.demo is not None
            part = self.demo.sample(n_demo, self.rng, self.n_step, self.discount)
            parts.append(part._replace(demo=np.ones(n_demo, bool)))
        if batch_size - n_demo > 0:
            part = self.online.sample(batch_size - n_demo, self.rng, self.n_step, self.discount)
            parts.append(part._replace(demo=np.zeros(batch_size - n_demo, bool)))
        return concat_batches(*parts)
