"""The command-line shell: each command parses, calls one library function, renders, exits.

``main`` is the single error boundary (hf CLI style): an ``LlmauditError`` becomes one line on
stderr and its exit code; a click usage error (unknown flag, bad flag value, missing argument)
comes out in the same style, ``error: …`` plus a line naming the help, and exits 2; anything else
is a bug and keeps its traceback, except that Typer's pretty tracebacks (which can print local
variables, and so API keys) are switched off.
"""

from __future__ import annotations

import os
import sys

# numpy's bundled OpenBLAS starts a thread per core when numpy is imported, and those threads spin
# for a while though llmaudit does no heavy linear algebra: `import numpy` alone took 188 ms of CPU
# against 78 ms with one BLAS thread (perf stat, 2 cores, 2026-12-05), CPU that a short report on a
# small machine needs for reading. Set before anything imports numpy; a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer
import typer.main

from llmaudit import __version__
from llmaudit.cli import _help, check, demo, ingest, mix, policy, pricing, replay, report, store
from llmaudit.cli._output import out
from llmaudit.errors import LlmauditError, redact

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="llmaudit",
    help="What your LLM API usage really costs, what it would cost elsewhere, and what routing saves.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    cls=_help.HelpGroup,
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
_help.install(app)

try:    # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer, on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]


def _sentence_case(text: str) -> str:
    # "No such option" -> "no such option", as our own messages read; "JSON …" stays as it is
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _usage_error(exc: click_errors.UsageError) -> None:
    """click's usage errors in llmaudit's style: ``error: …`` and where the help is, exit 2."""
    if (isinstance(exc, click_errors.BadParameter) and not isinstance(exc, click_errors.MissingParameter)
            and exc.param is not None):
        # typer's coercion says "Value error, 'xml' is not one of …": the flag and the reason suffice
        name = max(exc.param.opts, key=len) if exc.param.param_type_name == "option" else exc.param.metavar
        message = f"invalid value for {name}: {_sentence_case(exc.message.removeprefix('Value error, '))}"
    else:
        message = _sentence_case(exc.format_message())
    out.error(message.rstrip("."))
    if exc.ctx is not None:
        out.hint(f"Try '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}' for help.")
    sys.exit(2)


def main() -> None:
    out.set_wide(False)  # per invocation: `--wide` of an earlier in-process run must not stick
    try:
        # standalone_mode=False: click's errors come here to be written in our style, not click's
        code = typer.main.get_command(app).main(prog_name="llmaudit", standalone_mode=False)
    except click_errors.UsageError as exc:
        if isinstance(exc, getattr(click_errors, "NoArgsIsHelpError", ())):
            exc.show()   # `llmaudit pricing` alone: its help, on stderr, exit 2
            sys.exit(exc.exit_code)
        _usage_error(exc)
    except typer.Abort:
        out.error("aborted")
        sys.exit(1)
    except click_errors.ClickException as exc:
        out.error(exc.format_message())
        sys.exit(exc.exit_code)
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
    # a command's return value is not an exit code; typer.Exit(n) comes back as n
    sys.exit(code if isinstance(code, int) else 0)


def run() -> None:
    """The ``llmaudit`` program: ``main``, then out of the process without tearing the interpreter
    down. A report over a large folder leaves hundreds of MB of Arrow buffers and a million Python
    objects behind; freeing them one by one at exit took 0.08-0.1 s of a 1.4 s run (P1,
    bench/README.md). Output is flushed, non-daemon threads are waited for and ``atexit`` handlers
    run (temporary folders, the pools' finalizers) as at a normal exit; only the final freeing of
    memory is skipped.
    ``main`` itself stays an ordinary function for callers in the same process (the tests)."""
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:   # sys.exit("message"): printed, exit 1, as Python does it
            print(exc.code, file=sys.stderr)
            code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:   # `llmaudit ... | head`: the reader is gone; not an error
        pass
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):   # closed on a broken pipe above
        pass
    # What the interpreter does at exit, in its order, short of freeing memory: wait for
    # non-daemon threads (and the thread pools' exit hooks), then run the atexit handlers.
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    os._exit(code)
