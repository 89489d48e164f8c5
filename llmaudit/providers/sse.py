"""Server-sent events, decoded line by line (the WHATWG event-stream rules that matter here).

Pure: the exchange feeds it the lines httpx yields; tests feed it lists of strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent", "iter_events"]


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str | None = None


class SSEDecoder:
    """Collects ``event:``/``data:`` fields until a blank line ends the event."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> SSEEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # comment / keep-alive (OpenRouter sends ": OPENROUTER PROCESSING")
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        # id: and retry: do not matter for a single request/response stream.
        return None

    def flush(self) -> SSEEvent | None:
        """The last event when the stream ended without a closing blank line."""
        return self._dispatch()

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = None
            return None
        event = SSEEvent("\n".join(self._data), self._event)
        self._event, self._data = None, []
        return event


def iter_events(lines: Iterable[str]) -> Iterator[SSEEvent]:
    """All events in a sequence of lines (a whole captured stream)."""
    decoder = SSEDecoder()
    for raw in lines:
        for line in raw.splitlines() or [""]:
            event = decoder.feed(line)
            if event is not None:
                yield event
    last = decoder.flush()
    if last is not None:
        yield last
