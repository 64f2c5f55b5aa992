"""Pictures of an episode: a PNG strip of frames or an mp4, with reward and intervention marks.

Each shown frame is observation t (all cameras side by side, scaled ``scale`` times) over a
caption band: the step, the reward of step t - 1 (the reward that led to this frame) and
a mark for the outcome. Borders: orange while a human intervened on the step that led here,
green on a success step, none otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from robot_rl.data.episodes import Episode
from robot_rl.data.video import VideoWriter

_ORANGE, _GREEN, _WHITE = (255, 150, 0), (0, 200, 0), (255, 255, 255)
_BAND = 18  # caption rows (pixels)


def annotated_frame(ep: Episode, t: int, scale: int = 2) -> np.ndarray:
    """Observation ``t`` of ``ep`` with its caption and border, uint8 RGB."""
    if not ep.images:
        raise ValueError("the episode has no camera images to show")
    tiles = [np.kron(ep.images[c][t], np.ones((scale, scale, 1), np.uint8)) for c in ep.images]
    img = np.concatenate(tiles, axis=1)
    band = np.zeros((_BAND, img.shape[1], 3), np.uint8)
    text = f"t={t}"
    if t > 0:
        text += f" r={ep.reward[t - 1]:+.2f}"
        if ep.success[t - 1]:
            text += " SUCCESS"
        if ep.terminated[t - 1]:
            text += " END"
        elif ep.truncated[t - 1]:
            text += " LIMIT"
        if ep.intervened[t - 1]:
            text += " HUMAN"
    cv2.putText(band, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _WHITE, 1, cv2.LINE_AA)
    out = np.ascontiguousarray(np.concatenate([img, band], axis=0))
    colour = None
    if t > 0 and ep.intervened[t - 1]:
        colour = _ORANGE
    if t > 0 and ep.success[t - 1]:
        colour = _GREEN
    if colour is not None:
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), colour, 2)
    return out


def write_strip(ep: Episode, path: Path, frames: int = 8, scale: int = 2) -> Path:
    """A PNG of ``frames`` evenly spaced observations (first and last included)."""
    picks = np.unique(np.linspace(0, ep.num_steps, min(frames, ep.num_steps + 1)).round())
    strip = np.concatenate([annotated_frame(ep, int(t), scale) for t in picks], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path


def write_mp4(
    ep: Episode,
    path: Path,
    fps: int = 10,
    scale: int = 2,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """An mp4 of every observation of ``ep`` at ``fps``."""
    first = annotated_frame(ep, 0, scale)
    h, w = first.shape[:2]
    writer = VideoWriter(path, fps, w + w % 2, h + h % 2)
    for t in range(ep.num_steps + 1):
        frame = annotated_frame(ep, t, scale)
        writer.add(np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0))))
        if progress is not None:
            progress(1)
    writer.close()
    return path
