"""ROS 2 services over DDS as rmw_cyclonedds does them.

A request travels on ``rq/<service>Request`` and its reply on ``rr/<service>Reply``. The
payload is the message prefixed by a 16-byte header, ``uint64 client_guid`` and
``int64 sequence_number``, right after the encapsulation header. The server copies the
header into its reply, and a client keeps only replies that carry its own guid.
(rmw_fastrtps carries the same information in RTPS inline QoS instead, which the Python
binding cannot reach, so these services interoperate with rmw_cyclonedds only.)
"""

from __future__ import annotations

import logging
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.cdr.decoder import read_header
from robot_rl.bus.dds.idl import RawCdr, carrier, raw_type
from robot_rl.bus.dds.qos import to_cyclone
from robot_rl.bus.errors import CdrError, ServiceTimeoutError, ServiceUnavailableError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.names import service_to_dds
from robot_rl.bus.qos import SERVICES
from robot_rl.bus.subscription import SubscriptionStats

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_REQUEST_HEADER = {True: struct.Struct("<Qq"), False: struct.Struct(">Qq")}
_ANY = SampleState.Any | ViewState.Any | InstanceState.Any
_POLL_S = 0.002  # discovery has no cheap waitable event here, so matching is polled
_log = logging.getLogger(__name__)


def encode_with_header(guid: int, seq: int, msg: Message) -> bytes:
    """CDR of ``msg`` with the request header (``guid``, ``seq``) in front of its fields."""
    body = encode(msg)
    return body[:4] + _REQUEST_HEADER[True].pack(guid, seq) + body[4:]


def decode_with_header(cls: type[Req], data: bytes) -> tuple[int, int, Req]:
    """``(guid, seq, message)`` from a request or reply payload. Raises `CdrError`."""
    little = read_header(data)
    if len(data) < 20:
        raise CdrError(f"{len(data)}-byte payload is too short for a service header")
    guid, seq = _REQUEST_HEADER[little].unpack_from(data, 4)
    return int(guid), int(seq), decode(cls, data, skip=16)


def _topic(participant: DomainParticipant, name: str, cls: type[Message]) -> Topic[Any]:
    return Topic(participant, name, raw_type(cls, True), qos=to_cyclone(SERVICES))


class DdsServer(Generic[Req, Resp]):
    """Answers requests of one service; bad requests are counted, never raised."""

    def __init__(
        self,
        participant: DomainParticipant,
        fq_name: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req], Resp],
        reply_match_timeout_s: float,
    ) -> None:
        rq, rr = service_to_dds(fq_name)
        qos = to_cyclone(SERVICES)
        self.name = fq_name
        self.srv_type = srv_type
        self.handler = handler
        self.stats = SubscriptionStats()
        self.reader: DataReader[Any] = DataReader(
            participant, _topic(participant, rq, srv_type.request), qos=qos
        )
        self.writer: DataWriter[Any] = DataWriter(
            participant, _topic(participant, rr, srv_type.response), qos=qos
        )
        self.condition = ReadCondition(self.reader, _ANY)
        self._reply_raw = raw_type(srv_type.response, True)
        self._match_timeout_s = reply_match_timeout_s
        self.closed = False

    def process(self) -> int:
        """Answer every pending request. Returns the number answered."""
        answered = 0
        for sample in self.reader.take(N=64):
            if not isinstance(sample, RawCdr) or not sample.sample_info.valid_data:
                continue
            try:
                guid, seq, request = decode_with_header(self.srv_type.request, sample.cdr)
            except CdrError as exc:
                self.stats.rejected += 1
                self.stats.last_error = str(exc)
                _log.warning("rejected a request on %s: %s", self.name, exc)
                continue
            self.stats.received += 1
            response = self.handler(request)
            if type(response) is not self.srv_type.response:
                raise TypeError(
                    f"handler of {self.name} returned {type(response).__name__}, "
                    f"not {self.srv_type.response.__name__}"
                )
            self._wait_for_client(sample.sample_info.publication_handle)
            self.writer.write(carrier(self._reply_raw, encode_with_header(guid, seq, response)))
            answered += 1
        return answered

    def _wait_for_client(self, request_writer: int) -> None:
        # A reply written before the client's reply reader is matched here would be lost
        # (volatile QoS), so wait, bounded, until a reader of the client's participant is.
        client = self.reader.get_matched_publication_data(request_writer)
        if client is None:
            return
        deadline = time.monotonic() + self._match_timeout_s
        while time.monotonic() < deadline:
            for handle in self.writer.get_matched_subscriptions():
                reader = self.writer.get_matched_subscription_data(handle)
                if reader is not None and reader.participant_key == client.participant_key:
                    return
            time.sleep(_POLL_S)
        _log.warning("%s: client's reply reader never matched; replying anyway", self.name)

    def close(self) -> None:
        """Stop serving (the entities go when the bus closes)."""
        self.closed = True


class DdsClient(Generic[Req, Resp]):
    """Sends requests of one service and waits for the matching reply."""

    def __init__(
        self, participant: DomainParticipant, fq_name: str, srv_type: ServiceType[Req, Resp]
    ) -> None:
        rq, rr = service_to_dds(fq_name)
        qos = to_cyclone(SERVICES)
        self.name = fq_name
        self.srv_type = srv_type
        self.stats = SubscriptionStats()
        self.writer: DataWriter[Any] = DataWriter(
            participant, _topic(participant, rq, srv_type.request), qos=qos
        )
        self.reader: DataReader[Any] = DataReader(
            participant, _topic(participant, rr, srv_type.response), qos=qos
        )
        self._waitset = WaitSet(participant)
        self._waitset.attach(ReadCondition(self.reader, _ANY))
        self._request_raw = raw_type(srv_type.request, True)
        self.guid = secrets.randbits(64) or 1
        self.seq = 0

    def server_matched(self) -> bool:
        """True once a server's request reader and reply writer are both matched."""
        return bool(self.writer.get_matched_subscriptions()) and bool(
            self.reader.get_matched_publications()
        )

    def call(self, request: Req, timeout_s: float, idle: Callable[[], object]) -> Resp:
        """Send ``request`` and return the reply; ``idle()`` runs while waiting (it lets
        servers of the same bus answer). Raises on no server / no reply in time."""
        deadline = time.monotonic() + timeout_s
        while not self.server_matched():
            if time.monotonic() >= deadline:
                raise ServiceUnavailableError(
                    f"no server for service {self.name} ({self.srv_type.ros_type}) "
                    f"matched within {timeout_s:g} s"
                )
            idle()
            time.sleep(_POLL_S)
        self.seq += 1
        self.writer.write(
            carrier(self._request_raw, encode_with_header(self.guid, self.seq, request))
        )
        while True:
            reply = self._take_reply()
            if reply is not None:
                return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceTimeoutError(
                    f"service {self.name} matched but sent no reply within {timeout_s:g} s"
                )
            idle()
            self._waitset.wait(duration(seconds=min(remaining, 10 * _POLL_S)))

    def _take_reply(self) -> Resp | None:
        for sample in self.reader.take(N=64):
            if not isinstance(sample, RawCdr) or not sample.sample_info.valid_data:
                continue
            try:
                guid, seq, reply = decode_with_header(self.srv_type.response, sample.cdr)
            except CdrError as exc:
                self.stats.rejected += 1
                self.stats.last_error = str(exc)
                continue
            if guid == self.guid and seq == self.seq:
                self.stats.received += 1
                return reply
        return None
