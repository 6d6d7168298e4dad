"""The three broadcast levels of Thông tư 39/2020/TT-BTTTT, defined once for the server and the speakers.

The numbers are those of the gRPC API (``loa.v1.Priority``, where 0 means unspecified = NORMAL), of the
APP block a speaker reports, and of the ``ADDR:PORT:PRIORITY`` group strings. Level 2 is called HIGH
everywhere (the proto's ``PRIORITY_HIGH``; the regulation's "ưu tiên"); ``parse`` also takes "priority",
the regulation's English name, as input, but nothing prints it.
"""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """On a group, a higher level interrupts a lower one; a speaker plays the highest one present."""

    NORMAL = 1
    HIGH = 2
    EMERGENCY = 3

    @property
    def label(self) -> str:
        """Lower-case name, for metric labels, logs and command lines."""
        return self.name.lower()

    @classmethod
    def from_wire(cls, value: int) -> Priority:
        """The API number: 0 (unspecified) is NORMAL; anything outside 0..3 is a ValueError."""
        if value == 0:
            return cls.NORMAL
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"priority {value} not in 0..3") from None

    @classmethod
    def parse(cls, text: str) -> Priority:
        """``normal``/``high``/``emergency`` (any case, "priority" for high) or 1..3."""
        name = text.strip().lower()
        if name == "priority":
            return cls.HIGH
        if name.isdigit():
            return cls.from_wire(int(name)) if name != "0" else cls.NORMAL
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"priority {text!r} is not normal/high/emergency or 1..3") from None
