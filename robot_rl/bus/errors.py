"""Exceptions raised by the bus layer.

Every failure a caller may want to handle has its own type; all derive from `BusError`.
"""

from __future__ import annotations


class BusError(Exception):
    """Base class of every error raised by robot_rl.bus."""


class CdrError(BusError, ValueError):
    """A payload is not valid CDR for the expected message type (garbage, truncated, bad field).

    Decoding raises only this type, so a subscriber can drop and count a bad message
    without catching anything broader.
    """


class CdrEncodeError(BusError, ValueError):
    """A message cannot be encoded: a value is out of range, mistyped or has a wrong length."""


class TopicTypeError(BusError, TypeError):
    """A topic is used with two different message types in one bus."""


class ServiceUnavailableError(BusError, TimeoutError):
    """No server answered the service within the timeout (none matched, or none registered)."""


class ServiceTimeoutError(BusError, TimeoutError):
    """A server was found but its reply did not arrive within the timeout."""


class BackendUnavailableError(BusError, ImportError):
    """A bus backend needs a package that is not installed (rclpy for the `ros2` backend)."""
