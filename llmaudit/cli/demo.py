"""`llmaudit demo` (being built; see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the command to the root app (filled in by the issue that builds it)."""
