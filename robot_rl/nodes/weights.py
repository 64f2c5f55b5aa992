"""Policy weights over the bus: `SACAgent.trainable_state()` <-> PolicyWeights.

Each tensor becomes a NamedArray ``<part>/<parameter>`` (``actor/trunk.0.weight``); the
state format number travels as the int64 scalar ``format`` and the part names, comma
separated, as the uint8 text ``parts``. ``version`` is the message's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from robot_rl.bus.msgs import Header, NamedArray, PolicyWeights, Time


def weights_to_msg(state: Mapping[str, Any], version: int, stamp: Time) -> PolicyWeights:
    """A PolicyWeights message of ``state`` (nested dicts of tensors + ``format``)."""
    parts = [p for p, v in state.items() if isinstance(v, Mapping)]
    arrays = [
        NamedArray.from_array("format", np.asarray(int(state["format"]), dtype=np.int64)),
        # Part names travel too: a part can be empty (a state-only encoder has no weights).
        NamedArray.from_array("parts", np.frombuffer(",".join(parts).encode(), np.uint8)),
    ]
    if "updates" in state:
        arrays.append(NamedArray.from_array("updates", np.asarray(int(state["updates"]), np.int64)))
    for part in parts:
        for key, tensor in state[part].items():
            arrays.append(NamedArray.from_array(f"{part}/{key}", tensor.detach().cpu().numpy()))
    return PolicyWeights(Header(stamp, ""), version, arrays)


def msg_to_weights(msg: PolicyWeights) -> dict[str, Any]:
    """Inverse of `weights_to_msg`, ready for `SACAgent.load_trainable_state`."""
    state: dict[str, Any] = {"policy_version": int(msg.version)}
    for array in msg.arrays:
        if array.name in ("format", "updates"):
            state[array.name] = int(array.to_array())
            continue
        if array.name == "parts":
            for part in bytes(array.to_array()).decode().split(","):
                if part:
                    state.setdefault(part, {})
            continue
        part, sep, key = array.name.partition("/")
        if not sep:
            raise ValueError(f"weights array {array.name!r} is not <part>/<name>")
        state.setdefault(part, {})[key] = torch.from_numpy(np.array(array.to_array()))
    if "format" not in state:
        raise ValueError("weights message carries no format")
    return state
