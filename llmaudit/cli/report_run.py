"""`llmaudit report RUN_DIR`: the per-model report of a replay run (called from cli/report.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmaudit.cli._output import out
from llmaudit.errors import InputError, UsageError

_FORMATS = ("table", "json", "csv", "markdown")


def report_run(
    run_dir: str | Path, fmt: str = "table", html: str | Path | None = None, *, format: str | None = None
) -> None:
    """Print the run report in ``fmt`` (per-model figures, then the routing analysis when two or
    more models answered; CSV carries the per-model table only); with ``html``, also write the
    HTML report there.

    ``format`` is accepted as an alias of ``fmt`` for callers that use the flag's name.
    """
    from llmaudit.analysis.runstats import build_runstats
    from llmaudit.render.run import render_run
    from llmaudit.replay import is_run_dir, read_manifest, read_results

    fmt = format or fmt
    run_dir = str(run_dir)
    if fmt not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}")
    if not is_run_dir(run_dir):
        raise InputError("not a replay run directory (no manifest.json or results)", path=run_dir)
    table = read_results(run_dir)
    manifest = read_manifest(run_dir)
    stats = build_runstats(table, manifest, run_dir)
    # Routing compares models prompt by prompt: it needs at least two models with answers.
    routing = _routing(table, manifest) if sum(1 for m in stats.models if m.ok) >= 2 else None
    rendered = render_run(stats, fmt)
    if fmt == "json":
        import json

        data = json.loads(str(rendered))
        if routing is not None:
            from llmaudit.render.routing import routing_json

            data["routing"] = json.loads(routing_json(routing))
        out.json(data)
    elif isinstance(rendered, str):
        out.data(rendered)
        if routing is not None and fmt == "markdown":
            from llmaudit.render.routing import routing_markdown

            out.data(routing_markdown(routing))
    else:
        out.table(rendered)
        if routing is not None:
            from llmaudit.render.routing import routing_renderables

            for part in routing_renderables(routing):
                out.table(part)
    if html is not None:
        _write_html(table, routing, manifest, run_dir, Path(html))


def _routing(table: Any, manifest: dict[str, Any]) -> Any:
    from types import SimpleNamespace

    from llmaudit.analysis.routing import RoutingOptions, build_routing
    from llmaudit.config import load_config
    from llmaudit.pricing import fees

    # The rows were priced when the run was made; the report names that catalog date, not today's.
    priced_with = SimpleNamespace(as_of=manifest.get("catalog_as_of"))
    options = RoutingOptions(fee_pct=fees(load_config()).platform_pct)
    return build_routing(table, priced_with, options)


def _write_html(table: Any, routing: Any, manifest: dict[str, Any], run_dir: str, path: Path) -> None:
    try:
        from llmaudit.render.html import render_run_html
    except ImportError:
        raise UsageError("HTML for run reports arrives with the routing report") from None

    if table.num_rows == 0:
        raise InputError("the run has no results yet; nothing to put in an HTML report", path=run_dir)
    report = routing if routing is not None else _routing(table, manifest)
    meta = {
        "Run directory": run_dir,
        "Status": manifest.get("status", "unknown"),
        "Created": manifest.get("created_at", ""),
        "Prices as of": manifest.get("catalog_as_of", ""),
        "Prompt set": manifest.get("prompts", {}).get("path", ""),
    }
    try:
        path.write_text(render_run_html(report, meta=meta), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--html: cannot write {path}: {exc.strerror}") from None
    out.info(f"wrote {path}")
