"""The bus link of the actor/learner core: `robot_rl.loop.types.Transition` <-> the
robot_rl_interfaces Transition message, and the learner's write-ahead-log codec.

Observations travel as NamedArrays ``state`` and ``images/<camera>``; the message's
``header.stamp`` is the observation's stamp. The delivery protocol (seq numbers, acks,
resends) is the core's: robot_rl.loop.delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from robot_rl.bus.cdr import decode, encode
from robot_rl.bus.errors import CdrError
from robot_rl.bus.msgs import Header, NamedArray, Time
from robot_rl.bus.msgs import Transition as TransitionMsg
from robot_rl.loop.learner import LogCodec
from robot_rl.loop.types import Buffer, Transition

_BUFFER_CODES: dict[str, int] = {"online": TransitionMsg.ONLINE, "demo": TransitionMsg.DEMO}


def obs_to_arrays(obs: Mapping[str, Any]) -> list[NamedArray]:
    """An observation dict as NamedArrays: ``state`` and ``images/<camera>``."""
    out = []
    if "state" in obs:
        out.append(NamedArray.from_array("state", np.asarray(obs["state"], dtype=np.float32)))
    for cam, img in obs.get("images", {}).items():
        out.append(NamedArray.from_array(f"images/{cam}", np.asarray(img, dtype=np.uint8)))
    return out


def arrays_to_obs(arrays: list[NamedArray]) -> dict[str, Any]:
    """Inverse of `obs_to_arrays`, as received: whether it fits the learner's observation
    spec is the learner core's check (robot_rl.loop.learner), whatever the link."""
    obs: dict[str, Any] = {}
    for a in arrays:
        if a.name.startswith("images/"):
            obs.setdefault("images", {})[a.name.removeprefix("images/")] = a.to_array()
        else:
            obs[a.name] = a.to_array()
    return obs


def to_msg(t: Transition) -> TransitionMsg:
    """The message of a core transition."""
    return TransitionMsg(
        header=Header(Time.from_ns(t.stamp_ns), ""),
        actor_id=t.actor_id,
        seq=t.seq,
        episode_id=t.episode_id,
        step=t.step,
        obs=obs_to_arrays(t.obs),
        next_obs=obs_to_arrays(t.next_obs),
        action=np.asarray(t.action, dtype=np.float32),
        reward=float(t.reward),
        terminated=bool(t.terminated),
        truncated=bool(t.truncated),
        intervened=bool(t.intervened),
        policy_version=t.policy_version,
        buffer=_BUFFER_CODES.get(t.buffer, 255),
    )


def from_msg(msg: TransitionMsg) -> Transition:
    """The core transition of a message, as received (the learner core checks it)."""
    names = {code: name for name, code in _BUFFER_CODES.items()}
    buffer = cast(Buffer, names.get(int(msg.buffer), f"code {msg.buffer}"))
    return Transition(
        msg.actor_id,
        int(msg.seq),
        int(msg.episode_id),
        int(msg.step),
        msg.header.stamp.to_ns(),
        arrays_to_obs(msg.obs),
        np.asarray(msg.action, dtype=np.float32),
        float(msg.reward),
        arrays_to_obs(msg.next_obs),
        bool(msg.terminated),
        bool(msg.truncated),
        bool(msg.intervened),
        int(msg.policy_version),
        buffer,
    )


def decode_logged(payload: bytes) -> TransitionMsg:
    """A Transition message from the write-ahead log. A log written before Transition had
    its trailing ``uint8 buffer`` holds the same bytes without it: read those as ONLINE."""
    try:
        return decode(TransitionMsg, payload)
    except CdrError:
        return decode(TransitionMsg, payload + bytes([TransitionMsg.ONLINE]))


LOG_CODEC = LogCodec(
    encode=lambda t: encode(to_msg(t)), decode=lambda payload: from_msg(decode_logged(payload))
)  # write-ahead-log records are the CDR bytes of the message (the wire format)
