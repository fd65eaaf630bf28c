"""Message formats a stream or an object store carries, one message at a time, by name: the
`format` of a Kinesis or Kafka observer, the `message` of Firehose objects."""

from collections import Counter
from collections.abc import Callable
from typing import Any

from harness.observe.base import Observation
from harness.observe.formats import Control, Decoded
from harness.observe.formats.change_event import decode_change_event
from harness.observe.formats.dms_json import decode_message

MessageDecode = Callable[[bytes | str | dict[str, Any], str], Decoded | Control | None]

MESSAGE_FORMATS: dict[str, MessageDecode] = {
    "dms_json": decode_message,
    "change_event": decode_change_event,
}
"""Message format -> decoder of one message (its body, or parsed; `source` names it in errors)."""


def message_format(name: str) -> MessageDecode:
    """The decoder of format `name`; ValueError naming the known ones otherwise."""
    if name not in MESSAGE_FORMATS:
        raise ValueError(f"unknown message format {name!r}: use one of {sorted(MESSAGE_FORMATS)}")
    return MESSAGE_FORMATS[name]


class Messages:
    """Messages of one format decoded as row changes, counting the control records among
    them by operation (`control`)."""

    def __init__(self, format: str) -> None:
        self._decode = message_format(format)
        self.control: Counter[str] = Counter()

    def decode(self, message: bytes | str | dict[str, Any], source: str) -> Decoded | None:
        """The row change `message` carries; None for other records (control records,
        tables outside the source schema). ValueError naming `source` if it cannot be read."""
        decoded = self._decode(message, source)
        if isinstance(decoded, Control):
            self.control[decoded.operation] += 1
            return None
        return decoded


class MessageDecoder:
    """Message bodies of one format as observations of one projection."""

    def __init__(self, projection: str, format: str) -> None:
        self.projection = projection
        self.messages = Messages(format)

    def observe(self, body: bytes, position: str, seen_ns: int) -> Observation | None:
        """The row change `body` carries as an observation; None for other records."""
        decoded = self.messages.decode(body, position)
        if decoded is None:
            return None
        return decoded.observation(self.projection, seen_ns, position)
