"""Safety filter: the only path from a policy action to an arm's target pose.

The loop it lives in (docs/safety.md has the guarantees and the order of operations)::

    filt = SafetyFilter(SafetyConfig())
    filt.reset(measured, now_s)                        # episode start
    report = filt.command(dpos_m, drotvec_rad, now_s, measured, stamp_s)   # 10 Hz policy
    target = filt.setpoint(now_s, measured)            # 1 kHz controller

Nothing here blocks or sleeps; time is passed in (seconds, any monotonic clock), so the
filter runs the same on the twin and on the robot. Poses are in the base frame, quaternions
w,x,y,z. Returned arrays are read-only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from robot_rl.control.rotations import (
    quat_angle,
    quat_conj,
    quat_from_rotvec,
    quat_mul,
    quat_slerp,
    quat_to_rotvec,
    swing_twist,
)
from robot_rl.control.safety_config import Pose, SafetyConfig, SafetyReport

Array = NDArray[np.float64]

__all__ = ["Pose", "SafetyConfig", "SafetyFilter", "SafetyReport"]

_TOL = 1e-12  # a limit counts as exceeded only beyond this (rounding of earlier clamps)
_Z = (0.0, 0.0, 1.0)
_BISECT_STEPS = 16  # rare case in _limit; resolution 2^-16 of the cap angle
_FLAG_ORDER = (  # order of the parts of an accepted command's reason
    "clipped: step",
    "slowed: near workspace face",
    "clamped: workspace",
    "clamped: tilt",
    "clamped: twist",
    "capped: distance to measured",
)


def _left_mul_matrix(q: Array) -> Array:
    """4x4 matrix L with ``L @ p == quat_mul(q, p)``."""
    w, x, y, z = q
    return np.array(((w, -x, -y, -z), (x, w, -z, y), (y, z, w, -x), (z, -y, x, w)))


def _frozen(a: Array) -> Array:
    a.flags.writeable = False  # callers must not edit the filter's state in place
    return a


def _vec(x: Any, n: int) -> Array | None:
    """``x`` as a float64 (n,) array, or None if it is not one."""
    try:
        v = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return v if v.shape == (n,) else None


def _valid_pose(p: Any) -> Pose | None:
    """Finite pose with a near-unit quaternion (normalised), or None for garbage."""
    try:
        pos, quat = _vec(p[0], 3), _vec(p[1], 4)
    except (TypeError, IndexError, KeyError):
        return None
    if pos is None or quat is None or not (np.isfinite(pos).all() and np.isfinite(quat).all()):
        return None
    n = math.sqrt(float(quat @ quat))
    if abs(n - 1.0) > 0.1:  # far from unit: not a rotation someone meant to send
        return None
    return Pose(_frozen(pos.copy()), _frozen(quat / n))


class SafetyFilter:
    """Turns policy deltas into a clamped, interpolated, watchdog-guarded target pose.

    ``command``/``command_pose`` set the goal (10 Hz); ``setpoint`` is polled by the
    controller (1 kHz). Call ``reset`` first; the other methods raise ``RuntimeError``
    before that. No method blocks.
    """

    def __init__(self, cfg: SafetyConfig) -> None:
        self.cfg = cfg
        # The box goals are clamped to: the taught box inset by the tracking margin.
        self._low = np.array(cfg.workspace_low_m, dtype=np.float64) + cfg.tracking_margin_m
        self._high = np.array(cfg.workspace_high_m, dtype=np.float64) - cfg.tracking_margin_m
        self._nominal = np.array(cfg.nominal_quat_wxyz, dtype=np.float64)
        self._nominal_conj = quat_conj(self._nominal)
        self._goal: Pose | None = None
        self._start: Pose | None = None  # interpolation start
        self._out: Pose | None = None  # last setpoint returned (always finite)
        self._hold: Pose | None = None  # latched pose while the watchdog is tripped
        self._t0_s = 0.0  # start time of the current interpolation
        self._last_cmd_s = 0.0  # now_s of the last accepted command (or reset)
        self._last_stamp_s: float | None = None
        self._now_s = 0.0
        self._counts: Counter[str] = Counter(
            {"accepted": 0, "rejected": 0, "watchdog trips": 0, "faults": 0}
        )
        self._last_reason = ""

    # ----------------------------------------------------------------- public API
    def reset(self, measured: Pose, now_s: float) -> None:
        """Goal = setpoint = measured pose clamped into the limits; clears the watchdog.

        Raises ``ValueError`` on a non-finite pose or time.
        """
        m = _valid_pose(measured)
        now_s = float(now_s)
        if m is None or not math.isfinite(now_s):
            raise ValueError("reset needs a finite measured pose (unit quat) and time")
        pose = self._limit(m.pos, m.quat, m, set())
        self._goal = self._start = self._out = pose
        self._hold = None
        self._t0_s = self._last_cmd_s = self._now_s = now_s
        self._last_stamp_s = None  # the twin restarts its clock at every episode

    def command(
        self,
        delta_pos_m: Any,
        delta_rotvec_rad: Any,
        now_s: float,
        measured: Pose,
        stamp_s: float | None = None,
    ) -> SafetyReport:
        """Apply a base-frame delta (m, rotation vector rad) to the current goal.

        ``stamp_s`` is when the command was produced (same clock as ``now_s``).
        """
        dp, dr = _vec(delta_pos_m, 3), _vec(delta_rotvec_rad, 3)

        def delta(goal: Pose) -> tuple[Array, Array] | str:
            for name, v in (("delta_pos", dp), ("delta_rotvec", dr)):
                if v is None:
                    return f"rejected: malformed {name}"
                if not np.isfinite(v).all():
                    return f"rejected: non-finite {name}"
            assert dp is not None and dr is not None
            return dp, dr

        return self._command(delta, now_s, measured, stamp_s)

    def command_pose(
        self, goal: Pose, now_s: float, measured: Pose, stamp_s: float | None = None
    ) -> SafetyReport:
        """Same pipeline with an absolute goal; the step clip applies to goal - current goal."""
        g = _valid_pose(goal)

        def delta(current: Pose) -> tuple[Array, Array] | str:
            if g is None:
                return "rejected: non-finite or malformed goal"
            rot = quat_to_rotvec(quat_mul(g.quat, quat_conj(current.quat)))  # base frame
            return g.pos - current.pos, rot

        return self._command(delta, now_s, measured, stamp_s)

    def setpoint(self, now_s: float, measured: Pose) -> Pose:
        """Target pose for the controller at ``now_s``; never NaN, never blocks.

        On a non-finite ``measured`` (or time) it returns the last setpoint and counts a
        fault. If no command was accepted for ``watchdog_timeout_s`` it holds the measured
        pose latched at the trip.
        """
        out = self._require_reset()
        m = _valid_pose(measured)
        now_s = float(now_s)
        if m is None or not math.isfinite(now_s):
            self._fault("fault: non-finite measured pose or time")
            if math.isfinite(now_s):
                self._watchdog(now_s, None)  # latches the last setpoint
            return out
        self._now_s = now_s
        self._watchdog(now_s, m)
        flags: set[str] = set()
        pose = self._limit(*self._interpolate(now_s), m, flags)
        for flag in flags:
            self._counts["setpoint " + flag] += 1
        if not (np.isfinite(pose.pos).all() and np.isfinite(pose.quat).all()):
            self._fault("fault: non-finite setpoint")  # cannot happen; belt and braces
            return out
        self._out = pose
        return pose

    def track(self, times_s: ArrayLike) -> tuple[Array, Array]:
        """Setpoints for many future ticks at once: positions (N, 3) m, quats (N, 4).

        The twin's fast path. The targets are interpolated and inside the box and
        orientation limits, but NOT capped to the measured pose: the caller must re-cap each
        tick, as ``setpoint`` does. No watchdog check happens, so asking for a time at
        which the watchdog could trip (or is tripped) raises ``ValueError``.
        """
        self._require_reset()
        cfg = self.cfg
        t = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if not np.isfinite(t).all():
            raise ValueError("track() needs finite times")
        if self._hold is not None or (
            t.size and t.max() - self._last_cmd_s > cfg.watchdog_timeout_s
        ):
            raise ValueError("track() spans a watchdog trip: call setpoint() per tick")
        s, g = self._start, self._goal
        assert s is not None and g is not None
        alpha = np.clip((t - self._t0_s) / cfg.interpolation_period_s, 0.0, 1.0)
        alpha[alpha >= 1.0 - 1e-9] = 1.0  # as in _interpolate: land exactly on the goal
        pos = np.clip(s.pos + alpha[:, None] * (g.pos - s.pos), self._low, self._high)
        # slerp for all ticks: start ⊗ exp(alpha * log(conj(start) ⊗ goal)).
        rel = quat_to_rotvec(quat_mul(quat_conj(s.quat), g.quat))
        angle = math.hypot(*rel)
        axis = rel / angle if angle > 0.0 else np.zeros(3)
        half = 0.5 * alpha * angle
        step = np.column_stack((np.cos(half), np.sin(half)[:, None] * axis))
        quat = step @ _left_mul_matrix(s.quat).T
        quat[alpha == 1.0] = g.quat
        # Tilt and twist in closed form for q_rel = conj(nominal) ⊗ q = (w, x, y, z):
        # tilt = 2 atan2(|(x, y)|, |(w, z)|), twist = 2 atan2(z, w) with w >= 0.
        w, x, y, z = (quat @ _left_mul_matrix(self._nominal_conj).T).T
        tilt = 2.0 * np.arctan2(np.hypot(x, y), np.hypot(w, z))
        twist = 2.0 * np.arctan2(np.where(w < 0.0, -z, z), np.abs(w))
        bad = (tilt > cfg.max_tilt_rad + _TOL) | (np.abs(twist) > cfg.max_twist_rad + _TOL)
        for i in np.flatnonzero(bad):  # the slerp bulged out of the limits: rare
            quat[i] = self._clamp_orientation(quat[i], set())
        if t.size:
            self._out = Pose(_frozen(pos[-1].copy()), _frozen(quat[-1].copy()))
        return pos, quat

    @property
    def last_command_s(self) -> float:
        """``now_s`` of the last accepted command (or of the reset)."""
        return self._last_cmd_s

    @property
    def watchdog_tripped(self) -> bool:
        """True while holding because no command arrived within the timeout."""
        return self._hold is not None

    def diagnostics(self) -> dict[str, float | int | str]:
        """Counters per reason, watchdog trips, last reason, age (s) of the last command."""
        d: dict[str, float | int | str] = dict(self._counts)
        d["watchdog_tripped"] = int(self.watchdog_tripped)
        d["last_reason"] = self._last_reason
        d["last_command_age_s"] = self._now_s - self._last_cmd_s
        return d

    # ------------------------------------------------------------------ pipeline
    def _command(
        self,
        delta: Callable[[Pose], tuple[Array, Array] | str],
        now_s: float,
        measured: Pose,
        stamp_s: float | None,
    ) -> SafetyReport:
        """Shared pipeline; ``delta`` maps the current goal to (dpos, drotvec) or a reason."""
        self._require_reset()
        cfg = self.cfg
        now_s = float(now_s)
        if not math.isfinite(now_s):
            return self._reject("rejected: non-finite now_s")
        self._now_s = now_s
        m = _valid_pose(measured)
        self._watchdog(now_s, m)  # a late command trips first, then releases below
        goal = self._goal
        assert goal is not None
        if m is None:
            return self._reject("rejected: non-finite or malformed measured pose")
        d = delta(goal)
        if isinstance(d, str):
            return self._reject(d)
        dp, dr = d
        dist, angle = math.hypot(*dp), math.hypot(*dr)
        if dist > cfg.hard_limit_pos_m:
            return self._reject(
                f"rejected: delta_pos beyond hard limit ({dist:.3g} m > {cfg.hard_limit_pos_m} m)"
            )
        if angle > cfg.hard_limit_rot_rad:
            return self._reject(
                f"rejected: delta_rotvec beyond hard limit ({angle:.3g} rad"
                f" > {cfg.hard_limit_rot_rad} rad)"
            )
        if stamp_s is not None:
            stamp_s = float(stamp_s)
            if not math.isfinite(stamp_s):
                return self._reject("rejected: non-finite stamp")
            age = now_s - stamp_s
            if age > cfg.watchdog_timeout_s:
                return self._reject(
                    f"rejected: stale command (age {age:.2f} s > {cfg.watchdog_timeout_s} s)"
                )
            if -age > cfg.watchdog_timeout_s:  # would lock out every later command
                return self._reject(f"rejected: stamp in the future ({-age:.2f} s ahead)")
            if self._last_stamp_s is not None and stamp_s < self._last_stamp_s:
                return self._reject("rejected: out-of-order stamp")

        flags: set[str] = set()
        if dist > cfg.max_step_pos_m + _TOL:
            dp = dp * (cfg.max_step_pos_m / dist)
            flags.add("clipped: step")
        if angle > cfg.max_step_rot_rad + _TOL:
            dr = dr * (cfg.max_step_rot_rad / angle)
            flags.add("clipped: step")
        dp = self._slow_zone(goal.pos, dp, flags)
        start = self._limit(*self._interpolate(now_s), m, set())  # = setpoint(now_s)
        new_goal = self._limit(goal.pos + dp, quat_mul(quat_from_rotvec(dr), goal.quat), m, flags)

        self._goal, self._start, self._t0_s = new_goal, start, now_s
        self._last_cmd_s, self._hold = now_s, None
        if stamp_s is not None:
            self._last_stamp_s = stamp_s
        reason = "; ".join(f for f in _FLAG_ORDER if f in flags)
        self._counts["accepted"] += 1
        for flag in flags:
            self._counts[flag] += 1
        self._last_reason = reason
        return SafetyReport(True, reason, new_goal)

    def _slow_zone(self, pos: Array, dp: Array, flags: set[str]) -> Array:
        """Limit the per-axis motion towards a workspace face once within ``slow_zone_m``."""
        cfg = self.cfg
        if cfg.slow_zone_m <= 0.0:
            return dp
        new = pos + dp
        high = np.maximum(pos + cfg.slow_zone_step_m, self._high - cfg.slow_zone_m)
        low = np.minimum(pos - cfg.slow_zone_step_m, self._low + cfg.slow_zone_m)
        limited = np.where(dp > 0.0, np.minimum(new, high), np.maximum(new, low))
        if np.any(np.abs(limited - new) > _TOL):
            flags.add("slowed: near workspace face")
        return limited - pos

    def _interpolate(self, now_s: float) -> Pose:
        """Unclamped target at ``now_s``: lerp + slerp from start to goal, or the hold."""
        if self._hold is not None:
            return self._hold
        assert self._goal is not None and self._start is not None
        alpha = (now_s - self._t0_s) / self.cfg.interpolation_period_s
        if alpha >= 1.0 - 1e-9:  # (t0 + T - t0) / T can round to 0.999...: land exactly
            return self._goal
        alpha = max(alpha, 0.0)  # a clock that steps back holds the start
        s, g = self._start, self._goal
        return Pose(s.pos + alpha * (g.pos - s.pos), quat_slerp(s.quat, g.quat, alpha))

    def _limit(self, pos: Array, quat: Array, m: Pose, flags: set[str]) -> Pose:
        """Workspace box and orientation limits, then the cap to the measured pose ``m``.

        The cap is measured from ``m`` projected into the limits (``m`` itself when it is
        inside), so the result always satisfies both, and limiting twice changes nothing.
        """
        cfg = self.cfg
        anchor_p = np.clip(m.pos, self._low, self._high)
        anchor_q = self._clamp_orientation(m.quat, set())
        p = np.clip(pos, self._low, self._high)
        if not np.array_equal(p, pos):
            flags.add("clamped: workspace")
        q = self._clamp_orientation(quat, flags)
        err = p - anchor_p
        dist = math.hypot(*err)
        if dist > cfg.max_target_error_pos_m + _TOL:
            # On the segment between two points of the box: stays in the box.
            p = anchor_p + err * (cfg.max_target_error_pos_m / dist)
            flags.add("capped: distance to measured")
        angle = quat_angle(anchor_q, q)
        if angle > cfg.max_target_error_rot_rad + _TOL:
            frac = cfg.max_target_error_rot_rad / angle
            q_cap = quat_slerp(anchor_q, q, frac)
            if not self._orientation_ok(q_cap):
                # The geodesic between two admissible orientations can bulge out of the
                # tilt cone: back off along it (bisection) to a point inside the limits.
                lo, hi = 0.0, frac  # slerp(anchor_q, q, lo) is inside the limits
                for _ in range(_BISECT_STEPS):
                    mid = 0.5 * (lo + hi)
                    if self._orientation_ok(quat_slerp(anchor_q, q, mid)):
                        lo = mid
                    else:
                        hi = mid
                q_cap = quat_slerp(anchor_q, q, lo)
            q = q_cap
            flags.add("capped: distance to measured")
        return Pose(_frozen(p), _frozen(q))

    def _tilt_twist(self, q: Array) -> tuple[Array, float]:
        """Swing rotation vector (tilt of the TCP z axis) and twist (rad) about nominal z."""
        swing, twist = swing_twist(quat_mul(self._nominal_conj, q), _Z)
        # twist[0] >= 0, so the angle is in [-pi, pi]; the swing axis is in the TCP xy plane.
        return quat_to_rotvec(swing), 2.0 * math.atan2(twist[3], twist[0])

    def _orientation_ok(self, q: Array) -> bool:
        swing_rv, twist_rad = self._tilt_twist(q)
        return (
            math.hypot(*swing_rv) <= self.cfg.max_tilt_rad + _TOL
            and abs(twist_rad) <= self.cfg.max_twist_rad + _TOL
        )

    def _clamp_orientation(self, q: Array, flags: set[str]) -> Array:
        """Clamp tilt (swing of the TCP z axis) and twist about it, relative to nominal."""
        cfg = self.cfg
        swing_rv, twist_rad = self._tilt_twist(q)
        tilt_rad = math.hypot(*swing_rv)
        clamp_tilt = tilt_rad > cfg.max_tilt_rad + _TOL
        clamp_twist = abs(twist_rad) > cfg.max_twist_rad + _TOL
        if not (clamp_tilt or clamp_twist):
            return q
        if clamp_tilt:
            swing_rv = swing_rv * (cfg.max_tilt_rad / tilt_rad)
            flags.add("clamped: tilt")
        if clamp_twist:
            twist_rad = math.copysign(cfg.max_twist_rad, twist_rad)
            flags.add("clamped: twist")
        twist = quat_from_rotvec((0.0, 0.0, twist_rad))
        return quat_mul(self._nominal, quat_mul(quat_from_rotvec(swing_rv), twist))

    # ------------------------------------------------------------------- helpers
    def _watchdog(self, now_s: float, m: Pose | None) -> None:
        """Trip (latch the measured pose, or the last setpoint if m is garbage) on timeout."""
        age = now_s - self._last_cmd_s
        if self._hold is not None or not age > self.cfg.watchdog_timeout_s:
            return
        assert self._out is not None
        self._hold = self._out if m is None else self._limit(m.pos, m.quat, m, set())
        self._goal = self._hold  # the next delta composes with the held pose
        self._counts["watchdog trips"] += 1
        self._last_reason = (
            f"watchdog: no command for {age:.2f} s > {self.cfg.watchdog_timeout_s} s; holding"
        )

    def _reject(self, reason: str) -> SafetyReport:
        self._counts["rejected"] += 1
        self._counts[reason.split(" (")[0]] += 1
        self._last_reason = reason
        assert self._goal is not None
        return SafetyReport(False, reason, self._goal)

    def _fault(self, reason: str) -> None:
        self._counts["faults"] += 1
        self._counts[reason] += 1
        self._last_reason = reason

    def _require_reset(self) -> Pose:
        """The last setpoint returned; raises before the first ``reset``."""
        if self._out is None:
            raise RuntimeError("SafetyFilter.reset() must be called first")
        return self._out
