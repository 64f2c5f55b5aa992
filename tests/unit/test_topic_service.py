"""Services over topics (robot_rl.bus.topic_service) on the inproc bus: resends, run-once."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.bus import topic_service
from robot_rl.bus.errors import ServiceTimeoutError
from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs import Reset, ResetRequest, ResetResponse, ServiceFrame
from robot_rl.bus.qos import SERVICES
from robot_rl.bus.service import Responder
from robot_rl.bus.subscription import SubscriptionStats
from robot_rl.bus.topic_service import TopicClient, TopicServer, route_topics


def test_a_resent_request_runs_once_and_gets_the_same_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(topic_service, "RESEND_S", 0.0)  # every poll resends
    bus = InprocBus()
    held: list[Responder[ResetResponse]] = []
    stats = SubscriptionStats()
    TopicServer(bus, "/reset", Reset, lambda req, r: held.append(r), stats)
    replies: list[ServiceFrame] = []
    bus.subscribe(route_topics("/reset")[1], ServiceFrame, replies.append, SERVICES)
    client = TopicClient(bus, "/reset", Reset)
    pending = client.request(ResetRequest(seed=4), timeout_s=5.0)
    for _ in range(3):
        assert not pending.done()  # each poll resends the held request
        bus.spin_once()
    assert len(held) == 1 and stats.received == 1
    held[0].reply(ResetResponse(ok=True, message="done"))
    bus.spin_once()
    assert pending.done() and pending.result() == ResetResponse(ok=True, message="done")
    # a late resend of the answered request is answered again, not run again
    bus.publisher(route_topics("/reset")[0], ServiceFrame, SERVICES).publish(
        ServiceFrame(client.client, 1, np.frombuffer(b"", np.uint8))
    )
    bus.spin_once()
    assert len(held) == 1 and len(replies) == 2 and replies[0] == replies[1]


def test_undecodable_requests_are_counted_and_an_unanswered_one_times_out() -> None:
    bus = InprocBus()
    stats = SubscriptionStats()
    TopicServer(bus, "/reset", Reset, lambda req, r: None, stats)
    bus.publisher(route_topics("/reset")[0], ServiceFrame, SERVICES).publish(
        ServiceFrame(7, 1, np.frombuffer(b"\x00\x01\x00\x00\x01", np.uint8))
    )
    bus.spin_once()
    assert stats.rejected == 1 and stats.received == 0
    pending = TopicClient(bus, "/reset", Reset).request(ResetRequest(), timeout_s=0.05)
    bus.spin(timeout_s=5.0, until=pending.done)
    assert stats.received == 1
    with pytest.raises(ServiceTimeoutError):
        pending.result()
