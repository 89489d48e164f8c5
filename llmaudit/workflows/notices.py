"""What a workflow tells a person while it works, and the progress it reports.

The CLI hands in its output writer (stderr); tests and library callers can hand in ``Silent``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Notices", "Silent", "TotalProgress"]


class Notices(Protocol):
    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...


class Silent:
    """Notices that go nowhere."""

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class TotalProgress(Protocol):
    """A byte-counting progress bar (``render.ingest.ReadProgress``): advanced as input is read; its
    total is known once the inputs are opened."""

    total: int | None

    def advance(self, n: int) -> None: ...
