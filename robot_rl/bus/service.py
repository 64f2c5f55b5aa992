"""What every backend's services share: deferred replies, pending requests, the callback rule.

A server may answer later than its handler returns (``Bus.serve_deferred``): the handler
gets a `Responder` and calls ``responder.reply(response)`` when it is ready, from any later
callback or poll of the same thread. A client that must not block (a timer, a subscription
callback, a state machine) uses ``Bus.request_async``: it returns a `PendingReply` at once,
whose ``done()`` it checks on later callbacks, and whose ``result()`` raises a clear error
when no server matched or no reply came within the request's timeout.

Spinning the bus, or calling the blocking ``Bus.request``, from inside a callback is
refused by every backend (`CallbackGuard`), as rclpy refuses it: a callback that has to
wait defers its reply or its request instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from robot_rl.bus.errors import BusError, ServiceTimeoutError, ServiceUnavailableError
from robot_rl.bus.msgs.base import Message, ServiceType

if TYPE_CHECKING:
    from robot_rl.bus.api import ServiceServer

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_IDLE_SLEEP_S = 0.001  # between rounds that did nothing (a sim clock never waits)


class Responder(Generic[Resp]):
    """Answers one request, now or later, exactly once (``send`` is the backend's)."""

    def __init__(self, service: str, response_type: type[Resp], send: Callable[[Resp], None]):
        self.service = service
        self.response_type = response_type
        self._send = send
        self._done = False

    @property
    def done(self) -> bool:
        """True once `reply` was called."""
        return self._done

    def reply(self, response: Resp) -> None:
        """Send the response. Raises TypeError for a wrong type, BusError the second time."""
        if type(response) is not self.response_type:
            raise TypeError(
                f"reply of {self.service} must be {self.response_type.__name__}, "
                f"not {type(response).__name__}"
            )
        if self._done:
            raise BusError(f"request on {self.service} was already answered")
        self._done = True
        self._send(response)


def immediate(handler: Callable[[Req], Resp]) -> Callable[[Req, Responder[Resp]], None]:
    """A deferred handler that answers at once with ``handler(request)``."""

    def answer(request: Req, responder: Responder[Resp]) -> None:
        responder.reply(handler(request))

    return answer


class PendingReply(Generic[Resp]):
    """The reply to a `Bus.request_async` call, once it arrives.

    ``done()`` is True once a reply arrived or the request failed; it never blocks. The
    deadline is ``timeout_s`` wall seconds after the call: a request that no server took
    by then fails with `ServiceUnavailableError`, one that a server took but did not answer
    with `ServiceTimeoutError`.
    """

    def __init__(
        self,
        service: str,
        timeout_s: float,
        poll: Callable[[], object] | None = None,
        on_expire: Callable[[], object] | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.service = service
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.sent = False  # a server has taken (or been handed) the request
        self._poll = poll
        self._on_expire = on_expire
        self._response: Resp | None = None
        self._error: BusError | None = None

    @property
    def finished(self) -> bool:
        """Answered or failed, without polling the backend."""
        return self._response is not None or self._error is not None

    def set_result(self, response: Resp) -> None:
        """Backend: the reply arrived (ignored once finished, e.g. after the deadline)."""
        if not self.finished:
            self._response = response

    def set_error(self, error: BusError) -> None:
        """Backend: the request failed."""
        if not self.finished:
            self._error = error

    def done(self) -> bool:
        """Poll the backend once; True when `result` will not raise "no reply yet"."""
        if not self.finished and self._poll is not None:
            self._poll()
        if not self.finished and time.monotonic() >= self.deadline:
            self.expire()
        return self.finished

    def expire(self) -> None:
        """Fail now with the error of a request whose deadline has passed."""
        if self.finished:
            return
        if self.sent:
            self._error = ServiceTimeoutError(
                f"service {self.service} matched but sent no reply within {self.timeout_s:g} s"
            )
        else:
            self._error = ServiceUnavailableError(
                f"no server for service {self.service} matched within {self.timeout_s:g} s"
            )
        if self._on_expire is not None:
            self._on_expire()

    def result(self) -> Resp:
        """The reply; raises the request's error, or BusError when called before `done`."""
        if self._error is not None:
            raise self._error
        if self._response is None:
            raise BusError(f"no reply from {self.service} yet: check done() first")
        return self._response


def wait_for_reply(spin_once: Callable[[float], int], pending: PendingReply[Resp]) -> Resp:
    """Spin until ``pending`` is done (its own deadline bounds the wait); its result."""
    while not pending.done():
        if spin_once(0.01) == 0:
            time.sleep(_IDLE_SLEEP_S)
    return pending.result()


class CallbackGuard:
    """Tracks whether a callback is running, and refuses to spin inside one."""

    def __init__(self) -> None:
        self.depth = 0

    @contextmanager
    def running(self) -> Iterator[None]:
        """Wrap the invocation of callbacks."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def check(self, what: str) -> None:
        """Raise BusError if called from inside a callback."""
        if self.depth:
            raise BusError(
                f"{what} called from inside a callback: a callback must not spin or block "
                "(rclpy forbids it). Reply later with serve_deferred, or call with "
                "request_async and check the pending reply on a later callback."
            )


class _Backend(Protocol):
    """What `ServiceCalls` needs of a backend."""

    _guard: CallbackGuard

    def spin_once(self, timeout_s: float = 0.0) -> int: ...

    def serve_deferred(
        self,
        service: str,
        srv_type: ServiceType[Any, Any],
        handler: Callable[[Any, Responder[Any]], None],
    ) -> ServiceServer: ...

    def request_async(
        self, service: str, srv_type: ServiceType[Any, Resp], request: Any, timeout_s: float
    ) -> PendingReply[Resp]: ...


class ServiceCalls:
    """`Bus.serve` and the blocking `Bus.request` of a backend, made of its
    ``serve_deferred``, ``request_async`` and ``spin_once`` (the same on every backend)."""

    def serve(
        self: _Backend,
        service: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req], Resp],
    ) -> ServiceServer:
        """Answer requests at once with ``handler(request)``, called from `spin_once`."""
        return self.serve_deferred(service, srv_type, immediate(handler))

    def request(
        self: _Backend,
        service: str,
        srv_type: ServiceType[Req, Resp],
        request: Req,
        timeout_s: float,
    ) -> Resp:
        """`request_async`, then spin this bus until the reply or the timeout (a handler
        of this same bus that answers at once needs no spinning). Raises `BusError` when
        called from inside a callback. A node polled by a `NodeLoop` waits with
        ``loop.spin(until=pending.done)`` instead, so the loop's other nodes keep working."""
        self._guard.check("request")
        pending = self.request_async(service, srv_type, request, timeout_s)
        return wait_for_reply(self.spin_once, pending)
