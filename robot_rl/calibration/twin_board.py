"""The ChArUco board in the twin: a thin textured plate in the cell or held by the arm.

The plate is visual only (no contacts, no mass), so it never changes the arm's dynamics.
Its texture is the board's printable image (5 px/mm), so 640x480 views resolve the markers.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from robot_rl.calibration.board import BoardConfig
from robot_rl.calibration.frames import from_matrix
from robot_rl.twin.cell import CellConfig, TwinCell

PLATE_THICKNESS_M = 0.002
TEXTURE_PX_PER_M = 5000.0


def add_board(
    spec: mujoco.MjSpec, board: BoardConfig, parent: str, parent_t_board: np.ndarray
) -> None:
    """Add ``board`` to ``spec`` as body "charuco_board" under body ``parent`` ("world" or
    e.g. "hand"); ``parent_t_board`` (4x4) is the board frame (board.py) in the parent."""
    grey = board.image(TEXTURE_PX_PER_M)
    tex = spec.add_texture()
    tex.name = "charuco_board"
    tex.type = mujoco.mjtTexture.mjTEXTURE_2D
    tex.width, tex.height, tex.nchannel = grey.shape[1], grey.shape[0], 3
    tex.data = np.repeat(grey[:, :, None], 3, axis=2).tobytes()
    tex.vflip = True  # MuJoCo's texture rows run bottom-up (checked by the twin tests)
    mat = spec.add_material()
    mat.name = "charuco_board"
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "charuco_board"
    mat.texrepeat = [1, 1]
    mat.texuniform = False
    mat.specular = 0.0
    mat.shininess = 0.0
    body_parent = spec.worldbody if parent == "world" else spec.body(parent)
    if body_parent is None:
        raise ValueError(f"board parent body {parent!r} not in the scene")
    body = body_parent.add_body()
    body.name = "charuco_board"
    pos, quat = from_matrix(parent_t_board)
    body.pos, body.quat = pos, quat
    w, h = board.size_m
    geom = body.add_geom()
    geom.name = "charuco_board"
    geom.type = mujoco.mjtGeom.mjGEOM_BOX
    # The printed face is the plate's -z face, at z = 0 of the board frame.
    geom.size = [w / 2, h / 2, PLATE_THICKNESS_M / 2]
    geom.pos = [w / 2 - board.margin_m, h / 2 - board.margin_m, PLATE_THICKNESS_M / 2]
    geom.material = "charuco_board"
    geom.contype = geom.conaffinity = 0
    geom.mass = 0.0
    geom.group = 1


class BoardCell(TwinCell):
    """A twin cell with a ChArUco board added (``board_parent``, ``parent_t_board``)."""

    def __init__(
        self,
        scene_xml: str | Path,
        cfg: CellConfig,
        board: BoardConfig,
        board_parent: str,
        parent_t_board: np.ndarray,
    ) -> None:
        self._board = (board, board_parent, parent_t_board)
        super().__init__(scene_xml, cfg)

    def _add_cameras(self, spec: mujoco.MjSpec) -> None:
        super()._add_cameras(spec)
        add_board(spec, *self._board)
