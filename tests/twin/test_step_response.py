"""At default gains a 2 cm target step settles within 5% in <= 300 ms (sim time), with <= 10%
overshoot, on every translation axis and in both directions."""

from __future__ import annotations

import pytest

from robot_rl.twin.step_response import step_response

pytestmark = pytest.mark.twin


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_two_cm_step(axis: int, sign: float) -> None:
    r = step_response(axis, 0.02 * sign)
    print(f"\naxis {'xyz'[axis]} {sign * 20:+.0f} mm: {r}")
    assert r.settle_ms <= 300
    assert r.overshoot_pct <= 10.0
    assert abs(r.final_error_mm) < 1.0
