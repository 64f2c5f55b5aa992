"""Discrete gripper choices (close / stay / open) mapped to the interface's target opening.

The action's gripper entry is a target opening in [-1, 1] (docs/interfaces.md). "Stay"
means: command the opening measured now, read from the state vector. A stored command is
mapped back to the nearest of the three candidates, ties going to "stay", so closing an
already closed gripper counts as staying and is not penalised as a toggle.
"""

from __future__ import annotations

import torch

from robot_rl.agents.config import GripperConfig

CLOSE, STAY, OPEN = 0, 1, 2
NUM_CHOICES = 3


def stay_command(state: torch.Tensor, config: GripperConfig) -> torch.Tensor:
    """Command (B,) that keeps the measured opening: 2 * opening / max - 1, clipped."""
    opening_m = state[:, config.state_index]
    return (2.0 * opening_m / config.max_opening_m - 1.0).clamp(-1.0, 1.0)


def command_from_choice(choice: torch.Tensor, stay: torch.Tensor) -> torch.Tensor:
    """Target opening (B,) for choices (B,) in {CLOSE, STAY, OPEN}."""
    closed = torch.full_like(stay, -1.0)
    opened = torch.ones_like(stay)
    return torch.where(choice == CLOSE, closed, torch.where(choice == OPEN, opened, stay))


def choice_from_command(command: torch.Tensor, stay: torch.Tensor) -> torch.Tensor:
    """Nearest choice (B,) long for stored commands (B,); ties resolve to STAY."""
    # Candidate order [STAY, CLOSE, OPEN]: argmin returns the first minimum on ties.
    dist = torch.stack(
        [(command - stay).abs(), (command + 1.0).abs(), (command - 1.0).abs()], dim=-1
    )
    order = torch.tensor([STAY, CLOSE, OPEN], device=command.device)
    return order[dist.argmin(dim=-1)]
