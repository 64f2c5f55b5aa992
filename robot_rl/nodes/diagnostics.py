"""Building ``/diagnostics`` messages (diagnostic_msgs/DiagnosticArray)."""

from __future__ import annotations

from collections.abc import Mapping

from robot_rl.bus.msgs import DiagnosticArray, DiagnosticStatus, Header, KeyValue, Time

OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR
STALE = DiagnosticStatus.STALE


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def status(
    name: str, level: int, message: str, values: Mapping[str, object], hardware_id: str = ""
) -> DiagnosticStatus:
    """One component's status; values are rendered as text (floats to 6 digits)."""
    kv = [KeyValue(str(k), _text(v)) for k, v in values.items()]
    return DiagnosticStatus(level, name, message, hardware_id, kv)


def diagnostic_array(stamp: Time, *statuses: DiagnosticStatus) -> DiagnosticArray:
    """A DiagnosticArray stamped ``stamp``."""
    return DiagnosticArray(Header(stamp, ""), list(statuses))


def values_of(s: DiagnosticStatus) -> dict[str, str]:
    """A status's key/values as a dict."""
    return {kv.key: kv.value for kv in s.values}
