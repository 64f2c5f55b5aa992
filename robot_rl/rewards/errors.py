"""Errors of the reward layer: each names what was expected and what arrived."""

from __future__ import annotations


class RewardInputError(ValueError):
    """Frames given to a reward source have the wrong size, dtype or camera set."""


class CameraMismatchError(RewardInputError):
    """A reward model was trained on other cameras than the ones it is given or asked for."""


class ModelDirError(FileNotFoundError):
    """A reward or VLM model directory is missing or lacks a required file."""
