"""What a workflow tells a person while it works, and the progress it reports.

The CLI hands in its output writer (stderr); tests and library callers can hand in ``Silent``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmaudit.replay.runner import Progress

__all__ = [
    "Notices", "ReplayProgressFactory", "ReplayWatch", "Silent", "TotalProgress", "no_progress", "no_replay_progress",
]


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


class _Quiet:
    total: int | None = None

    def advance(self, n: int) -> None:
        pass


def no_progress() -> AbstractContextManager[TotalProgress]:
    """A progress bar that shows nothing (the default when the caller hands none in)."""
    return nullcontext(_Quiet())


class ReplayWatch(Protocol):
    """A replay's progress display (``render.run.ReplayProgress``): told after every finished request."""

    def update(self, p: Progress) -> None: ...


class _Unwatched:
    def update(self, p: Progress) -> None:
        pass


def no_replay_progress(simulated: bool) -> AbstractContextManager[ReplayWatch]:
    """A replay progress display that shows nothing."""
    return nullcontext(_Unwatched())


# simulated (sim/* models) -> the display to show while a replay runs
ReplayProgressFactory = Callable[[bool], AbstractContextManager[ReplayWatch]]
