"""Task registry of the twin. Add a task by subclassing ``Task`` and listing it here."""

from __future__ import annotations

from robot_rl.twin.tasks.base import Expert, Task, TaskConfig
from robot_rl.twin.tasks.peg_insert import PegInsert
from robot_rl.twin.tasks.pick_cube import PickCube
from robot_rl.twin.tasks.reach import Reach

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (Reach, PickCube, PegInsert)}


def make_task(name: str, cfg: TaskConfig | None = None) -> Task:
    """Instantiate a registered task; unknown names raise ``KeyError`` listing the known ones."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; registered tasks: {sorted(TASKS)}")
    return TASKS[name](cfg)


__all__ = ["TASKS", "Expert", "Task", "TaskConfig", "make_task"]
