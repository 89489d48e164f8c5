"""`llmaudit store status|clear`: the local store of logs already read ($LLMAUDIT_HOME/store)."""

from __future__ import annotations

import typer

from llmaudit.cli._output import out
from llmaudit.errors import UsageError

__all__ = ["app"]

app = typer.Typer(
    help="The local store of logs already read: an unchanged file is not parsed again, an appended one "
         "is read from where it ended, and files a tool has since deleted stay in your history.",
    no_args_is_help=True,
)


@app.command("status")
def status(fmt: str = typer.Option("table", "--format", help="table | json")) -> None:
    """Where the store is, how many files and rows it holds, and how many of those files are gone."""
    from llmaudit.ingest.store import open_store
    from llmaudit.render.store import render_status

    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: choose table or json")
    result = open_store().status()
    if fmt == "json":
        out.json(result.__dict__)
    else:
        out.data(render_status(result))


@app.command("clear")
def clear() -> None:
    """Remove everything the store holds (remembered reports too); the next read parses every file again."""
    from llmaudit.ingest.store import open_store

    store = open_store()
    n = store.clear()
    out.info(f"cleared the store at {store.root} ({n:,} files)")
