"""Our own CDR (XCDR1, as rosidl_typesupport for Fast DDS and Cyclone DDS writes it) codec."""

from __future__ import annotations

from robot_rl.bus.cdr.decoder import decode
from robot_rl.bus.cdr.encoder import encode
from robot_rl.bus.cdr.schema import fields_of, is_message_class, ros_type_of

__all__ = ["decode", "encode", "fields_of", "is_message_class", "ros_type_of"]
