"""The interface package and the Python message classes describe the same types."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from robot_rl.bus.cdr.schema import Array, Primitive, Sequence, StringType, fields_of
from robot_rl.bus.msgs import ALL_MESSAGES, ALL_SERVICES, Message, message_class

rosbags_typesys = pytest.importorskip("rosbags.typesys", reason="rosbags parses .msg files")

PACKAGE = Path(__file__).resolve().parents[2] / "ros_ws" / "src" / "robot_rl_interfaces"
OURS = [cls for cls in ALL_MESSAGES if cls.__ros_type__.startswith("robot_rl_interfaces/")]


def _interface_files() -> list[str]:
    return sorted(
        f"{p.parent.name}/{p.name}" for p in PACKAGE.glob("*/*") if p.suffix in (".msg", ".srv")
    )


def _kind_text(kind: object) -> str:
    """Our wire kind as (rosbags-normalised) .msg type text, for comparison."""
    if isinstance(kind, Primitive):
        return kind.name
    if isinstance(kind, StringType):
        return "string"
    if isinstance(kind, Sequence):
        return _kind_text(kind.elem) + "[]"
    if isinstance(kind, Array):
        return f"{_kind_text(kind.elem)}[{kind.length}]"
    assert isinstance(kind, type)
    return str(kind.__ros_type__)  # type: ignore[attr-defined]


def _rosbags_text(fielddef: Any) -> str:
    node, detail = fielddef
    kind = getattr(node, "name", str(node))
    if kind in ("BASE", "NAME"):
        name = detail[0] if isinstance(detail, tuple) else detail
        return str(name)
    inner, length = detail
    text = _rosbags_text(inner)
    return f"{text}[]" if kind == "SEQUENCE" else f"{text}[{length}]"


def _definitions() -> dict[str, tuple[list[tuple[str, str, object]], list[tuple[str, object]]]]:
    defs: dict[str, tuple[list[tuple[str, str, object]], list[tuple[str, object]]]] = {}
    for path in PACKAGE.glob("msg/*.msg"):
        name = f"robot_rl_interfaces/msg/{path.stem}"
        for key, value in rosbags_typesys.get_types_from_msg(path.read_text(), name).items():
            defs[key] = value
    for path in PACKAGE.glob("srv/*.srv"):
        for part, text in zip(
            ("Request", "Response"), path.read_text().split("\n---\n"), strict=True
        ):
            name = f"robot_rl_interfaces/srv/{path.stem}_{part}"
            for value in rosbags_typesys.get_types_from_msg(text, name).values():
                defs[name] = value
    return defs


DEFINITIONS = _definitions()


def test_cmakelists_lists_every_interface_file() -> None:
    listed = re.findall(
        r'"((?:msg|srv)/\w+\.(?:msg|srv))"', (PACKAGE / "CMakeLists.txt").read_text()
    )
    assert sorted(listed) == _interface_files()


def test_every_interface_file_has_a_python_class() -> None:
    python_types = {cls.__ros_type__ for cls in OURS}
    assert set(DEFINITIONS) == python_types
    assert {s.ros_type for s in ALL_SERVICES} == {
        f"robot_rl_interfaces/srv/{Path(f).stem}" for f in _interface_files() if f.endswith(".srv")
    }


@pytest.mark.parametrize("cls", OURS, ids=lambda c: c.__ros_type__)
def test_fields_and_constants_match_the_msg_file(cls: type[Message]) -> None:
    constants, fielddefs = DEFINITIONS[cls.__ros_type__]
    ours = [(spec.name, _kind_text(spec.kind)) for spec in fields_of(cls)]
    theirs = [(name, _rosbags_text(fd)) for name, fd in fielddefs]
    assert ours == theirs
    for name, _type, value in constants:
        assert getattr(cls, name) == value


def test_message_class_lookup() -> None:
    for cls in ALL_MESSAGES:
        assert message_class(cls.__ros_type__) is cls
    with pytest.raises(KeyError, match="no message class"):
        message_class("nope/msg/Nope")
