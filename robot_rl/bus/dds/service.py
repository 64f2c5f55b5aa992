"""ROS 2 services over DDS as rmw_cyclonedds does them.

A request travels on ``rq/<service>Request`` and its reply on ``rr/<service>Reply``. The
payload is the message prefixed by a 16-byte header, ``uint64 client_guid`` and
``int64 sequence_number``, right after the encapsulation header. The server copies the
header into its reply, and a client keeps only replies that carry its own guid and one of
its outstanding sequence numbers. Servers may reply later than their handler returns
(deferred replies), and clients never block: the bus's ``spin_once`` moves both on.
(rmw_fastrtps carries the same information in RTPS inline QoS instead, which the Python
binding cannot reach, so these services interoperate with rmw_cyclonedds only.)
"""

from __future__ import annotations

import logging
import secrets
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
from robot_rl.bus.service import PendingReply, Responder
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


class DdsClient(Generic[Req, Resp]):
    """Sends requests of one service and collects the matching replies without blocking.

    `request` returns a `PendingReply` at once; `poll` (run by the bus's ``spin_once`` and
    by ``PendingReply.done``) sends requests once a server is matched, takes replies and
    completes the pending ones. Replies for other clients (same topic) are dropped.
    """

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
        self.condition = ReadCondition(self.reader, _ANY)
        self._request_raw = raw_type(srv_type.request, True)
        self.guid = secrets.randbits(64) or 1
        self.seq = 0
        self._unsent: list[tuple[Req, PendingReply[Resp]]] = []
        self._sent: dict[int, PendingReply[Resp]] = {}

    @property
    def waiting_for_server(self) -> bool:
        """Requests wait for a server to match (discovery is polled, not waited on)."""
        return bool(self._unsent)

    def server_matched(self) -> bool:
        """True once a server's request reader and reply writer are both matched."""
        return bool(self.writer.get_matched_subscriptions()) and bool(
            self.reader.get_matched_publications()
        )

    def request(self, request: Req, timeout_s: float) -> PendingReply[Resp]:
        """Queue ``request``; it goes out as soon as a server is matched."""
        pending: PendingReply[Resp] = PendingReply(self.name, timeout_s, poll=self.poll)
        self._unsent.append((request, pending))
        self.poll()
        return pending

    def poll(self) -> int:
        """Send what can be sent, complete what was answered, expire what is late.
        Returns the number of pending replies completed."""
        if self._unsent and self.server_matched():
            for request, pending in self._unsent:
                self.seq += 1
                self.writer.write(
                    carrier(self._request_raw, encode_with_header(self.guid, self.seq, request))
                )
                pending.sent = True
                self._sent[self.seq] = pending
            self._unsent.clear()
        completed = self._take_replies()
        now = time.monotonic()
        for pending in [p for _, p in self._unsent] + list(self._sent.values()):
            if now >= pending.deadline:
                pending.expire()
        self._unsent = [(r, p) for r, p in self._unsent if not p.finished]
        self._sent = {seq: p for seq, p in self._sent.items() if not p.finished}
        return completed

    def _take_replies(self) -> int:
        completed = 0
        for _, (guid, seq, reply) in _take_valid(
            self.reader, self.srv_type.response, self.stats, self.name
        ):
            pending = self._sent.get(seq) if guid == self.guid else None
            if pending is not None and not pending.finished:
                self.stats.received += 1
                pending.set_result(reply)
                completed += 1
        return completed
