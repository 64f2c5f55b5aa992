"""Device backends through injected input sources, and the errors a missing device gives.
No hardware is touched: the real sources are only opened with their libraries faked."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.hil.command import TELEOP_FRAME, command_stamp_s, command_twist
from robot_rl.hil.devices import DEVICES, make_device
from robot_rl.hil.devices.gamepad import (
    Gamepad,
    GamepadReading,
    PygameJoystickSource,
    ScriptedGamepad,
)
from robot_rl.hil.devices.keyboard import (
    Keyboard,
    PygameKeyboardSource,
    ScriptedKeys,
    parse_key_script,
)
from robot_rl.hil.devices.spacemouse import (
    HID_TO_TELEOP,
    PySpaceMouseSource,
    ScriptedSpaceMouse,
    SpaceMouse,
    SpaceMouseReading,
    classify_open_error,
)
from robot_rl.hil.errors import DeviceLostError, DeviceUnavailableError

INTERVENE = TeleopCommand.BUTTON_INTERVENE


# --- common interface ---------------------------------------------------------------------


def test_registry_and_stamped_command() -> None:
    assert set(DEVICES) == {"spacemouse", "gamepad", "keyboard", "browser"}
    with pytest.raises(KeyError, match="known"):
        make_device("joystick")
    kb = Keyboard(source=ScriptedKeys([["w", "space"]]))
    with kb:
        c = kb.read(12.5)
    assert c.header.frame_id == TELEOP_FRAME and command_stamp_s(c) == pytest.approx(12.5)
    np.testing.assert_array_equal(command_twist(c), [1, 0, 0, 0, 0, 0])
    assert c.buttons == INTERVENE and c.gripper == 1.0


# --- SpaceMouse -----------------------------------------------------------------------------


def test_hid_to_teleop_is_a_proper_rotation() -> None:
    """det = +1, so rotation axes map like translation axes (no mirrored twist)."""
    np.testing.assert_allclose(HID_TO_TELEOP @ HID_TO_TELEOP.T, np.eye(3))
    assert np.linalg.det(HID_TO_TELEOP) == pytest.approx(1.0)


def test_spacemouse_axes_in_the_teleop_frame() -> None:
    """HID: +x right, +y toward the user, +z down. T: x away, y left, z up."""
    readings = [
        SpaceMouseReading(0, -0.5, 0, 0, 0, 0),  # cap pushed away from the user
        SpaceMouseReading(-0.5, 0, 0, 0, 0, 0),  # pushed left
        SpaceMouseReading(0, 0, -0.5, 0, 0, 0),  # lifted
        SpaceMouseReading(0, 0, 0, 0, 0, -0.5),  # twisted counter-clockwise seen from above
    ]
    sm = SpaceMouse(source=ScriptedSpaceMouse(readings))
    expected = np.eye(6)[[0, 1, 2, 5]] * 0.5
    for e in expected:
        np.testing.assert_allclose(sm.sample().twist, e, atol=1e-15)


def test_spacemouse_buttons_drive_a_sticky_gripper() -> None:
    z = (0.0,) * 6
    seq = [
        SpaceMouseReading(*z, (1, 0)),
        SpaceMouseReading(*z, (0, 0)),
        SpaceMouseReading(*z, (0, 1)),
    ]
    sm = SpaceMouse(source=ScriptedSpaceMouse(seq))
    assert [sm.sample().gripper for _ in range(3)] == [-1.0, -1.0, 1.0]


def test_spacemouse_lost_when_the_source_is() -> None:
    sm = SpaceMouse(source=ScriptedSpaceMouse([SpaceMouseReading(0, 0, 0, 0, 0, 0)], then="lost"))
    sm.sample()
    with pytest.raises(DeviceLostError, match="spacemouse"):
        sm.sample()


def fake_pyspacemouse(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    mod = types.ModuleType("pyspacemouse")

    def open_(**_kw: object) -> None:
        raise error

    mod.open = open_  # type: ignore[attr-defined]
    mod.AxisConvention = types.SimpleNamespace(HID="hid")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyspacemouse", mod)


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (RuntimeError("HID API is probably not installed. See ..."), "libhidapi-hidraw0"),
        (RuntimeError("No connected or supported devices found."), "udev"),
        (RuntimeError("Failed to open device"), "udev"),
    ],
)
def test_spacemouse_missing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, error: Exception, needle: str
) -> None:
    fake_pyspacemouse(monkeypatch, error)
    with pytest.raises(DeviceUnavailableError) as e:
        PySpaceMouseSource().open()
    assert e.value.device == "spacemouse" and needle in str(e.value)


def test_spacemouse_without_the_python_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspacemouse", None)
    with pytest.raises(DeviceUnavailableError, match=r"spacemouse.*robot_rl\[teleop\]"):
        PySpaceMouseSource().open()


def test_unknown_open_error_still_names_the_device() -> None:
    e = classify_open_error(ValueError("odd"))
    assert "spacemouse" in str(e) and "odd" in str(e)


# --- gamepad --------------------------------------------------------------------------------


def test_gamepad_mapping() -> None:
    axes = (-0.5, -1.0, 0.0, 0.25, -0.75, 0.0)  # left stick up-left, right stick up-right
    buttons = tuple(i in (4, 0, 3) for i in range(8))  # LB, A, Y
    gp = Gamepad(source=ScriptedGamepad([GamepadReading(axes, buttons, (1, -1))]))
    s = gp.sample()
    np.testing.assert_allclose(s.twist, [1.0, 0.5, 0.75, 1.0, -1.0, -0.25])
    assert s.gripper == -1.0
    assert s.buttons == INTERVENE | TeleopCommand.BUTTON_SUCCESS


def test_gamepad_with_few_axes_reads_zero() -> None:
    gp = Gamepad(source=ScriptedGamepad([GamepadReading((0.5,), ())]))
    s = gp.sample()
    assert s.twist[1] == -0.5 and s.buttons == 0


def test_gamepad_missing_names_the_access_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame = pytest.importorskip("pygame", reason="pygame is in the teleop extra")
    monkeypatch.setattr(pygame.joystick, "get_count", lambda: 0)
    with pytest.raises(DeviceUnavailableError) as e:
        PygameJoystickSource().open()
    assert e.value.device == "gamepad" and "/dev/input" in str(e.value)


# --- keyboard -------------------------------------------------------------------------------


def test_keyboard_keys() -> None:
    kb = Keyboard(source=ScriptedKeys([["w", "a", "q"], ["s", "w", "r"], ["c"], [], ["o"]]))
    s = kb.sample()
    np.testing.assert_array_equal(s.twist, [1, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(kb.sample().twist, [0, 0, 1, 0, 0, 0])  # w and s cancel
    assert [kb.sample().gripper for _ in range(3)] == [-1.0, -1.0, 1.0]


def test_keyboard_buttons() -> None:
    kb = Keyboard(source=ScriptedKeys([["space", "return", "backspace", "n", "p"]]))
    assert kb.sample().buttons == 1 | 2 | 4 | 8 | 16


def test_key_script_parsing() -> None:
    steps = parse_key_script("w space *3\n\n# comment\nc, space  # close\n")
    assert steps == [frozenset({"w", "space"})] * 3 + [frozenset(), frozenset({"c", "space"})]
    with pytest.raises(ValueError, match="unknown key"):
        parse_key_script("w ctrl")


def test_scripted_keys_release_or_lose_at_the_end() -> None:
    assert Keyboard(source=ScriptedKeys([])).sample().buttons == 0
    with pytest.raises(DeviceLostError, match="keyboard"):
        Keyboard(source=ScriptedKeys([], then="lost")).sample()


def test_keyboard_without_a_display_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pygame", reason="pygame is in the teleop extra")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DeviceUnavailableError) as e:
        PygameKeyboardSource().open()
    assert e.value.device == "keyboard" and "--keys" in str(e.value)
