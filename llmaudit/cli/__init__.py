"""The command-line shell: each command parses, calls one library function, renders, exits.

``main`` is the single error boundary (hf CLI style): an ``LlmauditError`` becomes one line on
stderr and its exit code; click usage errors exit 2; anything else is a bug and keeps its
traceback, except that Typer's pretty tracebacks (which can print local variables, and so API
keys) are switched off.
"""

from __future__ import annotations

import os
import sys

import typer

from llmaudit import __version__
from llmaudit.cli import check, demo, ingest, mix, policy, pricing, replay, report, store
from llmaudit.cli._output import out
from llmaudit.errors import LlmauditError, redact

__all__ = ["app", "main"]

app = typer.Typer(
    name="llmaudit",
    help="What your LLM API usage really costs, what it would cost elsewhere, and what routing saves.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        out.data(f"llmaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """llmaudit: cost audit, replay benchmarking, routing savings and CI cost checks for LLM APIs."""


app.add_typer(pricing.app, name="pricing")
app.add_typer(store.app, name="store")
app.add_typer(policy.app, name="policy")
ingest.register(app)
report.register(app)
replay.register(app)
check.register(app)
mix.register(app)
demo.register(app)


def main() -> None:
    out.set_wide(False)  # per invocation: `--wide` of an earlier in-process run must not stick
    try:
        app()
    except LlmauditError as exc:
        out.error(exc.message)
        if os.environ.get("LLMAUDIT_DEBUG"):
            raise
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        out.error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # `llmaudit ... | head` closes stdout early; that is not an error worth a traceback.
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # a bug: show the traceback, but never a key inside it
        out.error(redact(f"internal error: {type(exc).__name__}: {exc}"))
        out.hint("This is a bug in llmaudit. Set LLMAUDIT_DEBUG=1 for the full traceback.")
        if os.environ.get("LLMAUDIT_DEBUG"):
            raise
        sys.exit(70)
