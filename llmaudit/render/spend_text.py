"""The spend report's warnings in English: one function per kind of notice (``analysis.spend.notices``).

The analysis says what happened and how much; these sentences are said on stderr beside the table,
in the Markdown and the HTML, and in the JSON ``warnings`` (``spend_json`` wraps ``to_dict()``), so
every output words a spend report the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmaudit.analysis.spend.notices import (
    ClaudeCodeRetention,
    DuplicateIds,
    FilesArchived,
    FilesNotRead,
    RowsOutsideWindow,
    RowsRejected,
    Simulated,
    SpendNotice,
    UnpricedRequests,
)
from llmaudit.analysis.spend.report import SpendReport

__all__ = ["notice_text", "spend_json", "spend_warnings"]


def spend_json(report: SpendReport) -> dict[str, Any]:
    """``report.to_dict()`` with the worded ``warnings`` last, where ``--format json`` has always put them."""
    return {**report.to_dict(), "warnings": spend_warnings(report)}


def spend_warnings(report: SpendReport, *, leave_out: tuple[type, ...] = ()) -> list[str]:
    """The report's notices, worded, in order; kinds in ``leave_out`` are said elsewhere by the caller."""
    return [notice_text(n) for n in report.notices if not isinstance(n, leave_out)]


def notice_text(notice: SpendNotice) -> str:
    return _WORDS[type(notice)](notice)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _simulated(_: Simulated) -> str:
    return "SIMULATED: some rows come from the offline sim provider (sim/*), not real providers"


def _unpriced(n: UnpricedRequests) -> str:
    return (f"{n.requests:,} requests could not be priced ({', '.join(n.models)}); "
            "they are listed apart and not counted as $0")


def _outside(n: RowsOutsideWindow) -> str:
    return f"{n.rows:,} rows fell outside --since/--until and were left out"


def _not_read(n: FilesNotRead) -> str:
    more = f" and {len(n.paths) - 3:,} more" if len(n.paths) > 3 else ""
    names = ", ".join(n.paths[:3]) + more
    hint = "; name the format (--log-format) if one of them is a log" if "known log format" in n.reason else ""
    return f"{_plural(len(n.paths), 'file')} not read ({n.reason}): {names}{hint}"


def _rejected(n: RowsRejected) -> str:
    return (f"{n.rows:,} log rows were rejected and are not in these figures "
            "(`llmaudit ingest ... --rejects FILE.jsonl` lists them with file, line and reason)")


def _archived(n: FilesArchived) -> str:
    return f"{_plural(n.files, 'file')} no longer on disk counted from the store (--history)"


def _claude_code(n: ClaudeCodeRetention) -> str:
    return (f"Claude Code logs here reach back to {n.first_day.isoformat()}; Claude Code "
            "deletes transcripts after 30 days unless cleanupPeriodDays is raised in its settings, "
            "so older usage is not in these figures")


def _duplicates(n: DuplicateIds) -> str:
    return f"{n.ids:,} duplicate request ids were counted once"


_WORDS: dict[type, Callable[[Any], str]] = {
    Simulated: _simulated,
    UnpricedRequests: _unpriced,
    RowsOutsideWindow: _outside,
    FilesNotRead: _not_read,
    RowsRejected: _rejected,
    FilesArchived: _archived,
    ClaudeCodeRetention: _claude_code,
    DuplicateIds: _duplicates,
}
