"""`llmaudit store status|clear`: the local store of logs already read ($LLMAUDIT_HOME/store)."""

from __future__ import annotations

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import StoreFormatOption

__all__ = ["app"]

app = typer.Typer(
    help="The local store of logs already read: an unchanged file is not parsed again, an appended one "
         "is read from where it ended, and files a tool has since deleted stay in your history.",
    no_args_is_help=True,
)


@app.command("status")
def status(fmt: StoreFormatOption = "table") -> None:
    """Where the store is, how many files and rows it holds, and how many of those files are gone."""
    from llmaudit.render.store import render_status
    from llmaudit.workflows.store import store_status

    out.check_format(fmt, ("table", "json"))
    result = store_status()
    if fmt == "json":
        out.json(result.__dict__)
    else:
        out.data(render_status(result))


@app.command("clear")
def clear() -> None:
    """Remove everything the store holds (remembered reports too); the next read parses every file again."""
    from llmaudit.workflows.store import clear_store

    cleared = clear_store()
    out.info(f"cleared the store at {cleared.root} ({cleared.files:,} files)")
