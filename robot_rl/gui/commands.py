"""Where the page's episode controls and e-stop go on the bus (docs/gui.md, "Commands").

- start, pause, resume, success, failure, reset: an `EpisodeEvent` *request* on
  ``episode_control`` (kind START, PAUSE, RESUME, SUCCESS, FAILURE, RESET; ``detail``
  ``"gui <client>"``; ``episode_id`` 0: the actor's current episode). The actor obeys them
  and announces what it did on ``episode_events``.
- estop, rearm: a ``std_msgs/String`` on ``estop`` ("estop" latches, "rearm" re-arms;
  docs/interfaces.md), read by the impedance bridge.

The server's thread calls `BusCommandSink.send`; the messages go out from a bus timer,
so every publish happens on the bus's own thread (the inproc bus is not thread-safe).
"""

from __future__ import annotations

import collections
import threading

from robot_rl.bus.api import Bus, Timer
from robot_rl.bus.msgs import EpisodeEvent, Header, String
from robot_rl.gui.config import GuiConfig
from robot_rl.gui.sources import OperatorCommand
from robot_rl.nodes.impedance_bridge import REARM
from robot_rl.nodes.qos import COMMANDS, EVENTS

EPISODE_KINDS = {
    "start": EpisodeEvent.START,
    "pause": EpisodeEvent.PAUSE,
    "resume": EpisodeEvent.RESUME,
    "success": EpisodeEvent.SUCCESS,
    "failure": EpisodeEvent.FAILURE,
    "reset": EpisodeEvent.RESET,
}
# Bus time (s) between flushes of the queue: the most a command waits for the bus thread.
FLUSH_PERIOD_S = 0.01


class BusCommandSink:
    """`CommandSink` onto ``bus``: queues commands, publishes them from a bus timer."""

    def __init__(self, bus: Bus, cfg: GuiConfig) -> None:
        self.bus = bus
        self._lock = threading.Lock()
        self._queue: collections.deque[OperatorCommand] = collections.deque(maxlen=100)
        self._episode = bus.publisher(cfg.episode_control_topic, EpisodeEvent, EVENTS)
        self._estop = bus.publisher(cfg.estop_topic, String, COMMANDS)
        self.sent = 0
        self._timer: Timer = bus.timer(FLUSH_PERIOD_S, self._flush)

    def send(self, cmd: OperatorCommand) -> None:
        """Queue ``cmd`` (any thread); unknown kinds raise ValueError."""
        if cmd.kind not in EPISODE_KINDS and cmd.kind not in ("estop", "rearm"):
            raise ValueError(f"unknown command {cmd.kind!r}")
        with self._lock:
            self._queue.append(cmd)

    def _flush(self) -> None:
        self.flush()

    def flush(self) -> int:
        """Publish what is queued (bus thread); returns how many went out."""
        with self._lock:
            cmds, self._queue = list(self._queue), collections.deque(maxlen=100)
        for cmd in cmds:
            if cmd.kind == "estop":
                self._estop.publish(String(f"estop from the cockpit ({cmd.client[:8]})"))
            elif cmd.kind == "rearm":
                self._estop.publish(String(REARM))
            else:
                header = Header(self.bus.now(), "")
                event = EpisodeEvent(header, EPISODE_KINDS[cmd.kind], 0, f"gui {cmd.client}")
                self._episode.publish(event)
        self.sent += len(cmds)
        return len(cmds)

    def close(self) -> None:
        """Stop the flush timer."""
        self._timer.cancel()
