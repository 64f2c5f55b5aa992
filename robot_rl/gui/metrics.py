"""Learning curves from a run folder's ``metrics.csv`` (written by ``robot-rl train``
after every evaluation; columns of `robot_rl.train.report.EvalPoint`)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

# metrics.csv column -> curve name in `Curves.series` (x is always env_steps).
CURVES = {"success": "success_rate", "mean_return": "return"}


class MetricsCsv:
    """Re-reads ``<run_dir>/metrics.csv`` when its size or mtime changes; rows that do not
    parse (a file caught mid-write) are skipped until the next read."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self._seen: tuple[int, int] | None = None
        self.version = 0
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.latest: dict[str, float] = {}

    def poll(self) -> bool:
        """Read the file if it changed; True if the curves changed."""
        try:
            st = self.path.stat()
        except OSError:
            return False
        key = (st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return False
        self._seen = key
        series: dict[str, list[tuple[float, float]]] = {name: [] for name in CURVES.values()}
        latest: dict[str, float] = {}
        with open(self.path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    values = {k: float(v) for k, v in row.items() if k and v not in (None, "")}
                    x = values["env_steps"]
                except (KeyError, ValueError):
                    continue
                for column, name in CURVES.items():
                    y = values.get(column)
                    if y is not None and math.isfinite(y):
                        series[name].append((x, y))
                latest = values
        self.series, self.latest = series, latest
        self.version += 1
        return True
