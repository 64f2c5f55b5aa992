"""The ChArUco board: its definition, its printable/texture image, and corner detection.

Board frame (OpenCV's): origin at the outer corner of the top-left square, x along the
columns, y down the rows, z into the board (away from a viewer of the printed face).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

DICTIONARIES = {
    "DICT_4X4_50": cv2.aruco.DICT_4X4_50,
    "DICT_5X5_100": cv2.aruco.DICT_5X5_100,
    "DICT_6X6_250": cv2.aruco.DICT_6X6_250,
}


@dataclass(frozen=True)
class BoardConfig:
    """A ChArUco board (metres)."""

    squares_x: int = 9  # squares along x (columns)
    squares_y: int = 7  # squares along y (rows)
    square_m: float = 0.04  # chessboard square side
    marker_m: float = 0.03  # ArUco marker side (inside the white squares)
    dictionary: str = "DICT_4X4_50"  # ArUco dictionary name (cv2.aruco)
    margin_m: float = 0.01  # white border around the squares (printed, and in the twin)

    def __post_init__(self) -> None:
        if self.dictionary not in DICTIONARIES:
            raise ValueError(f"board dictionary {self.dictionary!r} not in {sorted(DICTIONARIES)}")
        if self.squares_x < 3 or self.squares_y < 3:
            raise ValueError("a ChArUco board needs at least 3 x 3 squares")
        if not 0.0 < self.marker_m < self.square_m:
            raise ValueError("board marker_m must be in (0, square_m)")
        if self.margin_m < 0.0:
            raise ValueError("board margin_m must be >= 0")

    @property
    def size_m(self) -> tuple[float, float]:
        """Printed size (width, height) including the margin."""
        return (
            self.squares_x * self.square_m + 2 * self.margin_m,
            self.squares_y * self.square_m + 2 * self.margin_m,
        )

    @property
    def n_corners(self) -> int:
        return (self.squares_x - 1) * (self.squares_y - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> BoardConfig:
        if not isinstance(data, dict):
            raise ValueError(f"board definition must be a mapping, got {data!r}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"board definition has unknown keys {sorted(unknown)}")
        return cls(**data)

    def cv_board(self) -> cv2.aruco.CharucoBoard:
        d = cv2.aruco.getPredefinedDictionary(DICTIONARIES[self.dictionary])
        return cv2.aruco.CharucoBoard(
            (self.squares_x, self.squares_y), self.square_m, self.marker_m, d
        )

    def corners_m(self) -> np.ndarray:
        """(n_corners, 3) inner chessboard corners in the board frame, indexed by corner id."""
        return np.asarray(self.cv_board().getChessboardCorners(), dtype=np.float64)

    def image(self, px_per_m: float = 5000.0) -> np.ndarray:
        """uint8 grey image of the printed board, margin included (print at 1/px_per_m m/px)."""
        w, h = self.size_m
        return self.cv_board().generateImage(
            (round(w * px_per_m), round(h * px_per_m)),
            marginSize=round(self.margin_m * px_per_m),
            borderBits=1,
        )


@dataclass(frozen=True)
class Detection:
    """ChArUco corners found in one image."""

    corners_px: np.ndarray  # (N, 2) float pixel coordinates (OpenCV: pixel centres at integers)
    ids: np.ndarray  # (N,) int corner ids into BoardConfig.corners_m()
    n_markers: int  # ArUco markers decoded


def detect(board: BoardConfig, image: np.ndarray) -> Detection:
    """Detect the board's ChArUco corners in an RGB or grey uint8 image (sub-pixel refined)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    detector = cv2.aruco.CharucoDetector(board.cv_board())
    corners, ids, _, marker_ids = detector.detectBoard(grey)
    n_markers = 0 if marker_ids is None else len(marker_ids)
    if corners is None or ids is None:
        return Detection(np.zeros((0, 2)), np.zeros(0, dtype=int), n_markers)
    return Detection(
        np.asarray(corners, dtype=np.float64).reshape(-1, 2),
        np.asarray(ids, dtype=int).reshape(-1),
        n_markers,
    )
