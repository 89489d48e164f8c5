"""Options that several commands take, declared once (``Annotated`` aliases, typer's idiom).

A command names the alias and its default in its signature::

    def report(config: ConfigOption = None, fmt: ReportFormatOption = "table") -> None: ...

The help text, metavar and flag spelling live here, so ``--config`` reads the same in every
command's help and a change is made in one place. ``--format`` takes a different set of values per
command, so there is one alias per set; the enum-typed ones are checked by click (a bad value is a
usage error, exit 2), the text-typed ones by the output writer (``cli/_output.py``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "WIDE_HELP",
    "ByOption",
    "CheckFormat",
    "CheckFormatOption",
    "ConfigOption",
    "EngineOption",
    "HistoryOption",
    "HostOption",
    "ListFormat",
    "ListFormatOption",
    "LogFormatOption",
    "MapOption",
    "ModelsOption",
    "NoCacheOption",
    "NoStoreOption",
    "NowOption",
    "OfflineOption",
    "ReportFormatOption",
    "RunFormatOption",
    "SchedulerOption",
    "ShowFormat",
    "ShowFormatOption",
    "SinceOption",
    "SloOption",
    "StoreFormatOption",
    "ThresholdOption",
    "TimezoneOption",
    "UntilOption",
    "VolumeOption",
    "WideOption",
]


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(StrEnum):
    table = "table"
    json = "json"


class Speed(StrEnum):
    fast = "fast"


WIDE_HELP = ("Tables show every column at full width, past the terminal's edge, instead of leaving columns out "
             "(with a note) or stacking rows.")

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", metavar="FILE", help="Config file (TOML).",
    show_default="./llmaudit.toml, then $LLMAUDIT_HOME/config.toml")]

# --format, one alias per set of values a command offers (the text-typed ones list theirs here)
RUN_FORMATS = ("table", "json", "csv", "markdown")
REPORT_FORMATS = (*RUN_FORMATS, "focus")
ReportFormatOption = Annotated[str, typer.Option(
    "--format", help="table | json | csv | markdown | focus. csv is one tidy table: one header, and a 'table' "
    "column naming each part (breakdown, savings, …).")]
RunFormatOption = Annotated[str, typer.Option(
    "--format", "-f", metavar="FORMAT", help="table | json | csv | markdown.")]
StoreFormatOption = Annotated[str, typer.Option("--format", help="table | json")]
CheckFormatOption = Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")]
ListFormatOption = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
ShowFormatOption = Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")]

WideOption = Annotated[bool, typer.Option("--wide", help=WIDE_HELP)]

# the day of the price catalog (pricing list, show, cost)
AtOption = Annotated[str | None, typer.Option(
    "--at", help="Price in force on this date (YYYY-MM-DD).", show_default="the latest price")]
AtTimeOption = Annotated[str | None, typer.Option(
    "--at", help="Price in force on this date (YYYY-MM-DD); with a UTC time (2026-03-01T17:30) a single request is "
    "also placed in or out of the model's off-peak windows.", show_default="the latest price")]
SpeedOption = Annotated[Speed | None, typer.Option("--speed", help="fast: Anthropic fast mode, at its own rates.")]

# the window and clock of a spend report
SinceOption = Annotated[str | None, typer.Option("--since", help="From this date/time (inclusive; --timezone).")]
UntilOption = Annotated[str | None, typer.Option("--until", help="Up to this date/time (exclusive; --timezone).")]
TimezoneOption = Annotated[str, typer.Option("--timezone", help="IANA timezone for day boundaries.")]
NowOption = Annotated[str | None, typer.Option(
    "--now", help="Treat this ISO time as now (projection; reproducible).")]
ByOption = Annotated[str | None, typer.Option(
    "--by", help="Breakdowns, comma-separated: model, provider, vendor, day, week, month, tag, user, session, "
    "project, host, key, source; join two with + to cross them (model+day).")]
VolumeOption = Annotated[str | None, typer.Option(
    "--volume", help="Scale the savings table to a monthly volume, e.g. 10B-tokens/month or 2M-requests/month "
    "(logs and RUN_DIR).")]

# reading logs
LogFormatOption = Annotated[str, typer.Option("--log-format", help="Reader for raw logs: auto or a reader name.")]
MapOption = Annotated[str | None, typer.Option("--map", help="Column mapping for the generic reader: col=field,...")]
EngineOption = Annotated[str, typer.Option(
    "--engine", help="local | dask: read and price the input files on dask workers (same numbers).")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", help="dask scheduler address, e.g. tcp://10.0.0.5:8786.",
    show_default="a LocalCluster on this machine")]
HostOption = Annotated[str | None, typer.Option(
    "--host", help="The machine these inputs came from: stamped on every row read (host column, --by host), "
    "so exports merged from several machines stay apart.")]
NoStoreOption = Annotated[bool, typer.Option(
    "--no-store", help="Read every file afresh and leave the local store ($LLMAUDIT_HOME/store) as it is. "
    "By default a file read before and unchanged since is taken from the store, and one appended to is "
    "read from where it ended.")]
HistoryOption = Annotated[bool, typer.Option(
    "--history", help="Also count logs the store read earlier under these folders that are gone from disk "
    "since (Claude Code deletes transcripts after 30 days): the store keeps your history.")]

# replaying prompt sets
ModelsOption = Annotated[list[str] | None, typer.Option(
    "--models", "-m", metavar="P/M[,P/M...]", help="provider/model, comma-separated or repeated.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")]
OfflineOption = Annotated[bool, typer.Option(
    "--offline", help="Answer from the response cache only: no API call; a miss is an error.")]
SloOption = Annotated[str | None, typer.Option(
    "--slo", metavar="METRIC=TIME,...", help="Service-level objectives goodput is counted against, e.g. "
    "ttft=500ms,tpot=50ms,e2e=10s (metrics: ttft, tpot, itl, e2e).")]
ThresholdOption = Annotated[float, typer.Option(
    "--threshold", min=0.0, max=1.0, help="The pass rate a model needs in a prompt category.")]
