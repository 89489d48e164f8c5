"""`llmaudit pricing ...` (being built; see the issue tracker)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect and maintain the price catalog.", no_args_is_help=True)
