"""The one output writer: stdout is data, stderr is for people, files are written in one way.

JSON, CSV and Markdown go to stdout as exact bytes through ``sys.stdout.write`` (never rich), so
pipes get what they expect. Tables go to stdout through a rich console; progress, warnings, hints
and errors go to a stderr console. A command renders its workflow's result and hands it here:
``check_format`` refuses a ``--format`` the command does not offer; ``show`` picks the renderer
for ``--format`` and ``emit`` prints what a renderer returned; ``check_writable`` refuses an
output path before any work; ``write`` writes a report file, says "wrote PATH" on stderr, and
turns a write error into a usage error (exit 2) that names the flag and the file, never a
traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import UsageError

if TYPE_CHECKING:   # rich costs 0.05 s to import: only tables and a terminal's messages need it
    from rich.console import Console

__all__ = ["Output", "out"]


# ``--wide``: tables take the room their columns need, past the terminal's edge, rather than
# leaving columns out or stacking rows (for ``less -S``, a wide window, or a file).
_UNBOUNDED = 10_000


class Output:
    def __init__(self) -> None:
        self._stdout: Console | None = None
        self._stderr: Console | None = None
        self.wide = False

    def set_wide(self, wide: bool) -> None:
        self.wide = wide
        self._stdout = None

    @property
    def stdout(self) -> Console:
        # Built lazily so tests that swap sys.stdout (CliRunner) are honoured.
        if self._stdout is None or self._stdout.file is not sys.stdout:
            # Piped or redirected, rich would assume 80 columns and wrap model names mid-word;
            # a file has no width, so give tables room (COLUMNS still wins when set).
            width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
            if self.wide:
                width = _UNBOUNDED
            from rich.console import Console

            self._stdout = Console(file=sys.stdout, soft_wrap=False, width=width)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None or self._stderr.file is not sys.stderr:
            # Summaries printed for people (the ingest table) get the same room as stdout in a CI
            # log: at rich's default 80 columns a long path would fold mid-name.
            width = None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160
            from rich.console import Console

            self._stderr = Console(file=sys.stderr, soft_wrap=False, width=width)
        return self._stderr

    def data(self, text: str) -> None:
        """Exact text to stdout (JSON, CSV, Markdown)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json(self, payload: Any) -> None:
        from llmaudit.render.jsontext import dumps

        self.data(dumps(payload))   # json.dumps(payload, indent=2, default=str), at the C encoder's speed

    def table(self, renderable: Any) -> None:
        self.stdout.print(renderable)

    def emit(self, rendered: Any) -> None:
        """What a renderer returned: text as exact bytes, a rich renderable (or a list of them) as tables."""
        if isinstance(rendered, str):
            self.data(rendered)
        elif isinstance(rendered, list | tuple):
            for part in rendered:
                self.table(part)
        else:
            self.table(rendered)

    def show(self, fmt: str, **renderers: Callable[[], Any]) -> None:
        """Render with the renderer named by ``fmt`` (``table=``, ``json=``, ``csv=``, …) and emit it; a
        ``json`` renderer may return the object, which is dumped here."""
        rendered = renderers[str(fmt)]()
        if fmt == "json" and not isinstance(rendered, str):
            self.json(rendered)
        else:
            self.emit(rendered)

    @staticmethod
    def check_format(fmt: str, choices: Sequence[str]) -> None:
        if fmt not in choices:
            raise UsageError(f"--format {fmt!r}: choose one of {', '.join(choices)}")

    @staticmethod
    def check_writable(path: Path | None, flag: str) -> None:
        """An output path that cannot be written fails before the work, not after it."""
        if path is None:
            return
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            raise UsageError(f"{flag} {path} is a directory; name the file to write")
        if not parent.is_dir():
            raise UsageError(f"{flag} {path}: the folder {parent} does not exist")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise UsageError(f"{flag} {path}: cannot write there")

    def step_summary(self, markdown: str) -> None:
        """Append to the GitHub Actions job summary when a workflow provides one ($GITHUB_STEP_SUMMARY)."""
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if not summary:
            return
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(markdown + "\n")
        except OSError as exc:
            self.warning(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {exc.strerror}")

    def write(self, path: Path, text: str, flag: str | None, *, wrote: str | None = "") -> None:
        """Write ``text`` to ``path``; say ``wrote PATH`` (plus ``wrote``) unless ``wrote`` is None."""
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            where = f"{flag} {path}" if flag else str(path)
            raise UsageError(f"{where}: cannot write: {exc.strerror or exc}") from None
        if wrote is not None:
            self.info(f"wrote {path}{wrote}")

    def _say(self, message: str, style: str | None) -> None:
        # A person at a terminal gets colour and wrapping; a CI log or a file gets each message on
        # one line, as written (rich wrapped at 80 columns and split paths in two).
        if sys.stderr.isatty():
            self.stderr.print(message, style=style, markup=False, highlight=False)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def info(self, message: str) -> None:
        self._say(message, None)

    def warning(self, message: str) -> None:
        self._say(f"warning: {message}", "yellow")

    def error(self, message: str) -> None:
        self._say(f"error: {message}", "bold red")

    def hint(self, message: str) -> None:
        self._say(message, "dim")


out = Output()
