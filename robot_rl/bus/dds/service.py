"""The native side of a dds-backend server: ROS 2 services as rmw_cyclonedds does them.

A request travels on ``rq/<service>Request`` and its reply on ``rr/<service>Reply``. The
payload is the message prefixed by a 16-byte header, ``uint64 client_guid`` and
``int64 sequence_number``, right after the encapsulation header. The server copies the
header into its reply. This serves ROS clients on rmw_cyclonedds (``ros2 service call``
with ``RMW_IMPLEMENTATION=rmw_cyclonedds_cpp``). rmw_fastrtps carries the same information
in RTPS inline QoS instead, which the Python binding cannot reach; our own clients of
every backend therefore call over topics (robot_rl.bus.topic_service), which every server
of ours also answers.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.cdr.decoder import read_header
from robot_rl.bus.dds.idl import RawCdr, carrier, raw_type
from robot_rl.bus.dds.qos import to_cyclone
from robot_rl.bus.errors import CdrError
from robot_rl.bus.msgs.base import Message, ServiceType
from robot_rl.bus.names import service_to_dds
from robot_rl.bus.qos import SERVICES
from robot_rl.bus.service import Responder
from robot_rl.bus.subscription import SubscriptionStats

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_REQUEST_HEADER = {True: struct.Struct("<Qq"), False: struct.Struct(">Qq")}
_ANY = SampleState.Any | ViewState.Any | InstanceState.Any
_POLL_S = 0.002  # discovery has no cheap waitable event here, so matching is polled
_TAKE_N = 64
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


def _take_valid(
    reader: DataReader[Any], cls: type[Req], stats: SubscriptionStats, name: str
) -> Iterator[tuple[RawCdr, tuple[int, int, Req]]]:
    """Take every queued sample of ``reader`` and yield the decodable ones with their
    ``(guid, seq, message)``; undecodable ones are counted in ``stats`` and logged."""
    while True:
        samples = reader.take(N=_TAKE_N)
        for sample in samples:
            if not isinstance(sample, RawCdr) or not sample.sample_info.valid_data:
                continue
            try:
                decoded = decode_with_header(cls, sample.cdr)
            except CdrError as exc:
                stats.rejected += 1
                stats.last_error = str(exc)
                _log.warning("rejected a payload on %s: %s", name, exc)
                continue
            yield sample, decoded
        if len(samples) < _TAKE_N:
            return


def _topic(participant: DomainParticipant, name: str, cls: type[Message]) -> Topic[Any]:
    return Topic(participant, name, raw_type(cls, True), qos=to_cyclone(SERVICES))


class DdsServer(Generic[Req, Resp]):
    """Answers requests of one service; bad requests are counted, never raised. The handler
    gets a `Responder` and may reply later (the reply carries the request's header)."""

    def __init__(
        self,
        participant: DomainParticipant,
        fq_name: str,
        srv_type: ServiceType[Req, Resp],
        handler: Callable[[Req, Responder[Resp]], None],
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
        self.route: Any = None  # the TopicServer answering our clients, closed with this

    def process(self) -> int:
        """Hand every pending request to the handler. Returns the number taken."""
        taken = 0
        for sample, (guid, seq, request) in _take_valid(
            self.reader, self.srv_type.request, self.stats, self.name
        ):
            self.stats.received += 1
            writer_handle = sample.sample_info.publication_handle
            self.handler(
                request,
                Responder(
                    self.name, self.srv_type.response, self._sender(guid, seq, writer_handle)
                ),
            )
            taken += 1
        return taken

    def _sender(self, guid: int, seq: int, request_writer: int) -> Callable[[Resp], None]:
        def send(response: Resp) -> None:
            if self.closed:
                return
            self._wait_for_client(request_writer)
            self.writer.write(carrier(self._reply_raw, encode_with_header(guid, seq, response)))

        return send

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
        if self.route is not None:
            self.route.close()
