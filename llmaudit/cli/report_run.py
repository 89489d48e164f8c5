"""`llmaudit report RUN_DIR`: the per-model report of a replay run (called from cli/report.py and
after `replay`); the work is ``workflows.run_report``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmaudit.cli._output import out
from llmaudit.cli.options import RUN_FORMATS
from llmaudit.errors import InputError
from llmaudit.workflows.run_report import RoutingFlags, RunReport, RunReportOptions, build_run_report

if TYPE_CHECKING:
    from llmaudit.analysis.routing.sweepstats import SweepStats

__all__ = ["RoutingFlags", "report_run", "show_run_report"]


def report_run(run_dir: str | Path, fmt: str = "table", html: str | Path | None = None,
               flags: RoutingFlags | None = None) -> None:
    """Print the run report in ``fmt`` (per-model figures, then the routing analysis when two or
    more models answered; CSV carries the per-model table only); with ``html``, also write the
    HTML report there.
    """
    out.check_format(fmt, RUN_FORMATS)
    options = RunReportOptions(Path(run_dir), flags or RoutingFlags(), html=html is not None)
    show_run_report(build_run_report(options, out), fmt, html)


def show_run_report(report: RunReport | SweepStats, fmt: str, html: str | Path | None = None) -> None:
    """Render a run's (or a sweep's) report on stdout, and with ``html`` write the HTML report."""
    if not isinstance(report, RunReport):  # a load sweep
        from llmaudit.render.sweep import render_sweep, sweep_html

        out.emit(render_sweep(report, fmt))
        if html is not None:
            out.write(Path(html), sweep_html(report), "--html")
        return
    _emit(report, fmt)
    if html is not None:
        from llmaudit.render.html import render_run_html
        from llmaudit.render.run import run_html_meta

        if report.html_routing is None:
            raise InputError("the run has no results yet; nothing to put in an HTML report", path=report.run_dir)
        page = render_run_html(report.html_routing, meta=run_html_meta(report.run_dir, report.manifest),
                               stats=report.stats)
        out.write(Path(html), page, "--html")


def _emit(report: RunReport, fmt: str) -> None:
    from llmaudit.render import routing as view
    from llmaudit.render.run import render_run, run_report_json

    if fmt == "json":
        out.data(run_report_json(report.stats, report.routing))
        return
    out.emit(render_run(report.stats, fmt))
    if report.routing is not None and fmt == "markdown":
        out.data(view.routing_markdown(report.routing))
    elif report.routing is not None and fmt == "table":
        out.emit(view.routing_renderables(report.routing))
