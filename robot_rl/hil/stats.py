"""Per-episode intervention statistics, for the training log and the GUI."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.hil.arbiter import Decision, Source


@dataclass
class InterventionStats:
    """Counts over one episode; feed every `Decision` to `update`."""

    steps: int = 0  # policy steps (10 Hz)
    human_steps: int = 0  # steps the human drove
    handover_steps: int = 0  # blended steps while handing back
    interventions: int = 0  # intervention onsets (a re-engage in a handover is not one)
    device_lost: int = 0  # times the device went from healthy to lost
    events: list[str] = field(default_factory=list)  # notices, in order

    def update(self, d: Decision) -> None:
        """Count one arbitration step."""
        self.steps += 1
        self.human_steps += d.source is Source.HUMAN
        self.handover_steps += d.source is Source.HANDOVER
        self.interventions += d.onset
        self.device_lost += d.device_lost
        if d.event:
            self.events.append(d.event)

    @property
    def rate(self) -> float:
        """Fraction of steps the human drove (0 for an empty episode)."""
        return self.human_steps / self.steps if self.steps else 0.0

    def as_dict(self) -> dict[str, float]:
        """Scalars for the logger, keys prefixed ``hil/``."""
        return {
            "hil/steps": float(self.steps),
            "hil/interventions": float(self.interventions),
            "hil/intervention_rate": self.rate,
            "hil/human_steps": float(self.human_steps),
            "hil/handover_steps": float(self.handover_steps),
            "hil/device_lost": float(self.device_lost),
        }
