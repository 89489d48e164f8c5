"""What a reader of a spend report must know besides the figures: typed facts, one class per kind.

The analysis says *that* something happened and how much (rows left out, files not read, requests
without a price); ``render.spend_text`` words each kind once, for the terminal, Markdown, HTML and
the JSON ``warnings``. Frozen and module-level, so a ``SpendReport`` that carries them pickles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "ClaudeCodeRetention",
    "DuplicateIds",
    "FilesArchived",
    "FilesNotRead",
    "RowsOutsideWindow",
    "RowsRejected",
    "Simulated",
    "SpendNotice",
    "UnpricedRequests",
]


@dataclass(frozen=True)
class Simulated:
    """Some rows come from the offline simulator (``sim/*``), not a real provider."""


@dataclass(frozen=True)
class UnpricedRequests:
    """Requests without a recomputed cost, listed apart (never counted as $0)."""

    requests: int
    models: tuple[str, ...]  # sorted


@dataclass(frozen=True)
class RowsOutsideWindow:
    """Rows before ``--since`` or from ``--until`` on, left out."""

    rows: int


@dataclass(frozen=True)
class FilesNotRead:
    """Inputs left out whole for one ``reason`` (the reader's words); one notice per reason."""

    paths: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RowsRejected:
    """Log rows rejected by their reader, not in the figures."""

    rows: int


@dataclass(frozen=True)
class FilesArchived:
    """Files no longer on disk, counted from the store (``--history``)."""

    files: int


@dataclass(frozen=True)
class ClaudeCodeRetention:
    """Claude Code logs reach back only to ``first_day`` (it deletes old transcripts)."""

    first_day: date


@dataclass(frozen=True)
class DuplicateIds:
    """Request ids seen more than once, counted once."""

    ids: int


SpendNotice = (
    Simulated | UnpricedRequests | RowsOutsideWindow | FilesNotRead | RowsRejected | FilesArchived
    | ClaudeCodeRetention | DuplicateIds
)
