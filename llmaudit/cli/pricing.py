"""`llmaudit pricing list|show|cost|audit|import|diff|update`: inspect and maintain the price catalog.

    llmaudit pricing audit o3                         # every source's price over time, the catalog's answer
    llmaudit pricing audit --provider deepseek --disagreements
"""

from __future__ import annotations

from pathlib import Path

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    AtOption,
    AtTimeOption,
    ConfigOption,
    ListFormat,
    ListFormatOption,
    ShowFormat,
    ShowFormatOption,
    SpeedOption,
    WideOption,
)
from llmaudit.errors import UsageError

app = typer.Typer(help="Inspect and maintain the price catalog.", no_args_is_help=True)
import_app = typer.Typer(help="Add prices from a LiteLLM or OpenRouter file as a dated user overlay.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")


@app.command("list")
def list_(
    provider: str = typer.Option(None, "--provider", "-p", help="Only this provider (e.g. openai, anthropic)."),
    fmt: ListFormatOption = ListFormat.table,
    at: AtOption = None,
    config: ConfigOption = None,
    wide: WideOption = False,
) -> None:
    """List the models in the catalog with their prices (USD per 1M tokens)."""
    from llmaudit.render import pricing as view
    from llmaudit.workflows.pricing import ListOptions, list_prices

    out.set_wide(wide)
    result = list_prices(ListOptions(provider, at, config))
    out.show(fmt, json=lambda: view.list_json(result.rows, result.day, result.as_of),
             csv=lambda: view.list_csv(result.rows), table=lambda: view.list_table(result.rows, result.as_of))

@app.command()
def show(
    model: str = typer.Argument(..., help="Model name in any spelling (gpt-4o, anthropic/claude-3.5-sonnet, ...)."),
    at: AtOption = None,
    fmt: ShowFormatOption = ShowFormat.table,
    config: ConfigOption = None,
) -> None:
    """Show one model: how the name resolved, its prices, tiers and dated history."""
    from llmaudit.render import pricing as view
    from llmaudit.workflows.pricing import ShowOptions, show_model

    shown = show_model(ShowOptions(model, at, config))
    out.show(fmt, json=lambda: view.show_json(shown.resolution, shown.query, shown.day),
             table=lambda: view.show_table(shown.resolution, shown.query, shown.day))

@app.command()
def cost(
    model: str = typer.Argument(..., help="Model name in any spelling."),
    input_tokens: int = typer.Option(..., "--input-tokens", min=0, help="ALL prompt tokens, cached ones included."),
    output_tokens: int = typer.Option(..., "--output-tokens", min=0, help="ALL output tokens, reasoning included."),
    cache_read_tokens: int = typer.Option(0, "--cache-read-tokens", min=0, help="Part of input read from cache."),
    cache_write_tokens: int = typer.Option(0, "--cache-write-tokens", min=0, help="Part of input written to cache."),
    cache_write_1h_tokens: int = typer.Option(0, "--cache-write-1h-tokens", min=0,
                                              help="Part of the cache writes with the 1-hour TTL."),
    reasoning_tokens: int = typer.Option(0, "--reasoning-tokens", min=0, help="Part of output spent reasoning."),
    web_searches: int = typer.Option(0, "--web-searches", min=0, help="Server-side web searches."),
    requests: int = typer.Option(1, "--requests", min=1,
                                 help="Requests these tokens stand for. Above 1 a long-context tier needs "
                                      "--context-tier: a threshold applies to each request, not to the total."),
    batch: bool = typer.Option(False, "--batch", help="Bill at batch rates."),
    service_tier: str = typer.Option(None, "--service-tier",
                                     help="As the provider reported it: flex and priority bill at their own rates; "
                                          "standard, default, auto, scale (and the default, none) at list price."),
    speed: SpeedOption = None,
    geo: str = typer.Option(None, "--geo", help="inference_geo (data residency), e.g. us: its multiplier applies."),
    context_tier: str = typer.Option(None, "--context-tier",
                                     help="The long-context window the requests fell in, as a usage report labels "
                                          "it (e.g. 0-200k, 200k-1M); used with --requests above 1."),
    at: AtTimeOption = None,
    fmt: ShowFormatOption = ShowFormat.table,
    config: ConfigOption = None,
) -> None:
    """Exact cost of one request (or N), broken down by token type."""
    from llmaudit.render import pricing as view
    from llmaudit.usage import Usage
    from llmaudit.workflows.pricing import CostOptions, request_cost

    usage = Usage(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
                  reasoning_tokens, requests, web_search_requests=web_searches)
    result = request_cost(CostOptions(model, usage, batch=batch, service_tier=service_tier,
                                      speed=speed.value if speed else None, geo=geo, context_tier=context_tier,
                                      at=at, config=config))
    out.show(fmt, json=lambda: view.cost_json(result), table=lambda: view.cost_table(result))
    if result.total is None:
        out.warning(f"{model}: cost unknown ({result.status}: no rate for {', '.join(result.missing)})")

@app.command()
def audit(
    model: str = typer.Argument(None, help="Model name in any spelling (o3, deepseek-reasoner, openai/gpt-4o, ...)."),
    provider: str = typer.Option(None, "--provider", "-p",
                                 help="Every model of this provider, one summary line each; with MODEL: "
                                      "resolve the name for this provider."),
    disagreements: bool = typer.Option(False, "--disagreements",
                                       help="Only the periods (or models) where sources disagree."),
    since: str = typer.Option(None, "--from", help="Only periods on or after this date (YYYY-MM-DD)."),
    until: str = typer.Option(None, "--to", help="Only periods on or before this date (YYYY-MM-DD)."),
    fmt: ShowFormatOption = ShowFormat.table,
    config: ConfigOption = None,
) -> None:
    """Where a model's prices come from: every source's price over time beside the catalog's answer.

    One row per period in which any source's price (or the catalog's) changed, the vendor-dated
    documents applied, and the disagreements the build recorded with the rule that decided.
    """
    from llmaudit.pricing.audit import ProviderAudit
    from llmaudit.render import pricing_audit as view
    from llmaudit.workflows.pricing import AuditOptions, audit_prices

    result = audit_prices(AuditOptions(model, provider, disagreements, since, until, config))
    if isinstance(result, ProviderAudit):
        out.show(fmt, json=lambda: view.provider_json(result), table=lambda: view.provider_table(result))
    else:
        out.show(fmt, json=lambda: view.audit_json(result), table=lambda: view.audit_table(result))

@app.command()
def diff(
    a: str = typer.Argument(..., help="A date (YYYY-MM-DD) or a catalog file/folder."),
    b: str = typer.Argument(None, help="A date or a catalog file/folder.",
                             show_default="the current catalog"),
    provider: str = typer.Option(None, "--provider", "-p", help="Only this provider."),
    fmt: ListFormatOption = ListFormat.table,
    config: ConfigOption = None,
) -> None:
    """Prices that changed between two dates of the catalog, or between two catalogs."""
    from llmaudit.render import pricing as view
    from llmaudit.workflows.pricing import DiffOptions, diff_prices

    result = diff_prices(DiffOptions(a, b, provider, config))
    out.show(fmt, json=lambda: view.diff_json(result), csv=lambda: view.diff_csv(result),
             table=lambda: view.diff_table(result))


def _import(kind: str, file: Path, at: str | None) -> None:
    from llmaudit.workflows.pricing import ImportOptions, import_prices

    summary = import_prices(ImportOptions(kind, file, at))
    out.info(f"imported {summary.models} models from {file} as {kind} prices effective {summary.effective}; "
             f"{summary.changed} differ from the catalog")
    if summary.skipped:
        out.warning(f"{len(summary.skipped)} models left out without a price: " + "; ".join(summary.skipped[:5])
                    + (" …" if len(summary.skipped) > 5 else ""))
    out.hint(f"stored in {summary.path}; remove that file to undo")


@import_app.command("litellm")
def import_litellm(
    file: Path = typer.Argument(..., help="LiteLLM model_prices_and_context_window.json"),
    effective: str = typer.Option(None, "--effective", help="Date the prices took effect.",
                                  show_default="today"),
) -> None:
    """Import a LiteLLM price JSON as a dated overlay on the shipped catalog."""
    _import("litellm", file, effective)


@import_app.command("openrouter")
def import_openrouter(
    file: Path = typer.Argument(..., help="Saved JSON of https://openrouter.ai/api/v1/models"),
    effective: str = typer.Option(None, "--effective", help="Date the prices took effect.",
                                  show_default="today"),
) -> None:
    """Import an OpenRouter /api/v1/models listing as a dated overlay."""
    _import("openrouter", file, effective)


@app.command()
def update(
    timeout: float = typer.Option(20.0, "--timeout", help="Seconds to wait for each download."),
) -> None:
    """Fetch OpenRouter's and LiteLLM's current prices into a dated user overlay (needs network)."""
    from llmaudit.workflows.pricing import update_prices

    report = update_prices(timeout)
    for line in report.fetched:
        out.info(line)
    for line in report.failed:
        out.warning(line)
    if not report.fetched:
        raise UsageError("could not fetch any price source; the shipped catalog is unchanged and works offline")
