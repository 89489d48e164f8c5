"""`llmaudit check`: fail a build when cost, tokens, latency or pass rate regress against a baseline.

Three ways to measure (the comparison is the same): ``--estimate`` counts a prompt set's tokens
locally and prices them (no key, no network); ``--offline`` replays the prompt set from the
response cache; a replay run directory is measured as it is. Without either flag a prompt set is
replayed live (keys needed, or ``sim/*`` models).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    CheckFormat,
    CheckFormatOption,
    ConfigOption,
    ModelsOption,
    NoCacheOption,
    OfflineOption,
    SloOption,
)
from llmaudit.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from llmaudit.analysis.regression import Measurement
    from llmaudit.config import Config

DEFAULT_BASELINE = "llmaudit-baseline.json"


Fmt = CheckFormat

def register(app: typer.Typer) -> None:
    app.command(
        "check",
        help="Compare cost, tokens, p95 latency and pass rate with a committed baseline; exit 1 on a regression.",
        no_args_is_help=True,
    )(check)


def check(
    target: str = typer.Argument(
        ..., help="A prompt set (JSONL) or a replay run directory.", show_default=False, metavar="PROMPTS.jsonl|RUN_DIR"
    ),
    models: ModelsOption = None,
    estimate: bool = typer.Option(False, "--estimate", help="Count tokens locally and price them: no API call."),
    offline: OfflineOption = False,
    no_cache: NoCacheOption = False,
    baseline: str = typer.Option(
        None, "--baseline", "-b", metavar="FILE", help=f"Baseline JSON [default: {DEFAULT_BASELINE}]."
    ),
    write_baseline: bool = typer.Option(False, "--write-baseline", help="Create or update the baseline and exit 0."),
    volume: str = typer.Option(
        None, "--volume", metavar="N", help="Requests per month for the cost/month line, e.g. 10M."
    ),
    max_cost_increase: str = typer.Option(None, metavar="PCT", help="Fail above this cost/request increase, e.g. 5%."),
    warn_cost_increase: str = typer.Option(None, metavar="PCT", help="Warn above this cost/request increase."),
    max_token_increase: str = typer.Option(None, metavar="PCT", help="Fail above this input/output tokens increase."),
    warn_token_increase: str = typer.Option(None, metavar="PCT", help="Warn above this tokens increase."),
    max_p95_increase: str = typer.Option(None, metavar="PCT", help="Fail above this p95 latency increase."),
    warn_p95_increase: str = typer.Option(None, metavar="PCT", help="Warn above this p95 latency increase."),
    min_pass_rate: str = typer.Option(
        None, metavar="PCT", help="Fail when the pass rate is surely below this, e.g. 90%."
    ),
    warn_pass_rate: str = typer.Option(None, metavar="PCT", help="Warn when the pass rate is below this."),
    slo: SloOption = None,
    min_goodput: str = typer.Option(None, metavar="PCT", help="Fail when goodput is surely below this, e.g. 95%."),
    warn_goodput: str = typer.Option(None, metavar="PCT", help="Warn when goodput is below this."),
    max_pass_rate_drop: str = typer.Option(
        None, metavar="PCT", help="Fail when the pass rate drops more than this (points)."
    ),
    max_monthly_increase: str = typer.Option(
        None, metavar="USD", help="Fail when cost/month grows by more than this, e.g. $500."
    ),
    warn_monthly_increase: str = typer.Option(
        None, metavar="USD", help="Warn when cost/month grows by more than this."
    ),
    mix: Path = typer.Option(
        None, "--mix", metavar="MIX.json",
        help="Weight cost, tokens and cost/month by production traffic (from `llmaudit mix`).",
    ),
    allowed_max_increase: str = typer.Option(
        None, metavar="PCT|USD", help="Fail when all models' summed cost/request grows more than this (8%, $500)."
    ),
    repeats: int = typer.Option(
        1, "--repeats", metavar="N", help="Replay each prompt N times (noise bands for latency, tokens)."
    ),
    run_dir: Path = typer.Option(
        None, "--run-dir", metavar="DIR", help="Keep the replay run here.",
        show_default="a temporary folder"
    ),
    fmt: CheckFormatOption = CheckFormat.table,
    comment_mode: str = typer.Option(
        None, "--comment-mode", metavar="MODE",
        help="With --format markdown: always, on-change or on-increase (print nothing when quiet).",
    ),
    junit: Path = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML to this file."),
    config_path: ConfigOption = None,
) -> None:
    from llmaudit import __version__
    from llmaudit.analysis.check_policy import policies_from
    from llmaudit.analysis.mix import apply_mix, read_mix
    from llmaudit.analysis.regression import compare, parse_volume, read_baseline
    from llmaudit.config import load_config
    from llmaudit.render import check as view

    config = load_config(config_path)
    section = config.section("check")
    flags = {
        "max_cost_increase": max_cost_increase, "warn_cost_increase": warn_cost_increase,
        "max_token_increase": max_token_increase, "warn_token_increase": warn_token_increase,
        "max_p95_increase": max_p95_increase, "warn_p95_increase": warn_p95_increase,
        "min_pass_rate": min_pass_rate, "warn_pass_rate": warn_pass_rate, "max_pass_rate_drop": max_pass_rate_drop,
        "max_monthly_increase": max_monthly_increase, "warn_monthly_increase": warn_monthly_increase,
        "min_goodput": min_goodput, "warn_goodput": warn_goodput,
        "allowed_max_increase": allowed_max_increase,
    }  # fmt: skip
    policies = policies_from(section, flags, f"{config.path or 'config'} [check]")
    declared = volume if volume is not None else section.get("volume")
    vol = parse_volume(declared, "--volume" if volume is not None else "[check] volume") if declared else None
    mix_path = mix if mix is not None else section.get("mix")
    if mix_path is not None and not isinstance(mix_path, (str, Path)):
        raise UsageError(f"[check] mix: expected a file name, got {mix_path!r}")
    traffic = read_mix(mix_path) if mix_path is not None else None
    if vol is None and traffic is not None and traffic.requests_per_month:
        vol = traffic.requests_per_month  # the logs' own rate projects the month
    mode = _comment_mode(comment_mode, section, fmt)
    model_list = models or _config_models(section)
    base_path = baseline or str(section.get("baseline", DEFAULT_BASELINE))

    from llmaudit.analysis.latency import parse_slo

    slo_text = slo if slo is not None else section.get("slo")
    objectives = parse_slo(str(slo_text), "--slo" if slo is not None else "[check] slo") if slo_text else None
    if no_cache and (offline or estimate):
        raise UsageError("--no-cache applies to a live replay; --offline reads the cache and --estimate sends nothing")
    current = _measure(target, model_list, estimate, offline, repeats, run_dir, vol, config, __version__, objectives,
                       no_cache)
    if write_baseline:
        _write_baseline(current, base_path, policies, vol, fmt, junit, view)
        return

    base, notes = read_baseline(base_path), None
    if traffic is not None:
        base, current, notes = apply_mix(base, current, traffic)
    report = compare(base, current, policies.base, volume=vol, baseline_path=base_path, notes=notes,
                     policies=policies)  # fmt: skip
    _emit(report, fmt, junit, view, mode)
    if report.status == "fail":
        n = len(report.failures)
        raise CheckFailed(
            f"cost regression: {n} check{'s' if n != 1 else ''} failed; "
            f"if the change is intended, accept it with --write-baseline and commit {base_path}"
        )


def _write_baseline(
    current: Measurement, path: str, policies: Any, volume: int | None, fmt: Fmt, junit: Path | None, view: Any
) -> None:
    """Save ``current`` as the baseline; people see what changes they accept, JSON gets the baseline."""
    from llmaudit.analysis.regression import compare, read_baseline, write_baseline
    from llmaudit.errors import BaselineError

    old = None
    if Path(path).exists():
        try:
            old = read_baseline(path)
        except BaselineError:  # an unreadable old baseline is exactly what --write-baseline replaces
            old = None
    if fmt is Fmt.json:
        out.json(current.to_dict())
    elif old is not None and old.mode == current.mode:
        out.info(f"changes against the previous {path}, accepted into the new baseline:")
        report = compare(old, current, policies.base, volume=volume, baseline_path=path, policies=policies)
        _emit(report, fmt, junit, view)
    elif fmt is Fmt.markdown:
        out.data(view.render_measurement_markdown(current))
    else:
        out.table(view.render_measurement_table(current))
    write_baseline(current, path)
    out.info(f"wrote baseline {path}: {len(current.models)} model(s), mode {current.mode}; commit it")


def _comment_mode(flag: str | None, section: dict[str, Any], fmt: Fmt) -> str:
    from llmaudit.render.check import COMMENT_MODES

    mode = flag if flag is not None else section.get("comment_mode", "always")
    where = "--comment-mode" if flag is not None else "[check] comment_mode"
    if mode not in COMMENT_MODES:
        raise UsageError(f"{where}: expected one of {', '.join(COMMENT_MODES)}, got {mode!r}")
    if flag is not None and fmt is not Fmt.markdown:
        raise UsageError("--comment-mode shapes the Markdown comment; add --format markdown")
    return str(mode)


def _emit(report: Any, fmt: Fmt, junit: Path | None, view: Any, mode: str = "always") -> None:
    if fmt is Fmt.json:
        out.json(report.to_dict())
    elif fmt is Fmt.markdown:
        body = view.render_comment(report, mode)
        if body is None:  # stdout stays empty: the workflow posts nothing new
            moved = "moved for the worse" if mode == "on-increase" else "changed"
            out.info(f"comment mode {mode}: nothing {moved} against the baseline; no comment")
        else:
            out.data(body)
    else:
        out.table(view.render_table(report))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(view.render_markdown(report) + "\n")
        except OSError as exc:
            out.warning(f"cannot append to $GITHUB_STEP_SUMMARY ({summary}): {exc.strerror}")
    if junit is not None:
        try:
            junit.write_text(view.render_junit(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--junit {junit}: cannot write: {exc.strerror}") from None


def _config_models(section: dict[str, Any]) -> list[str]:
    value = section.get("models", [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError("[check] models must be a list of provider/model strings")
    return value


def _measure(
    target: str,
    models: list[str],
    estimate: bool,
    offline: bool,
    repeats: int,
    run_dir: Path | None,
    volume: int | None,
    config: Config,
    version: str,
    slo: Any = None,
    no_cache: bool = False,
) -> Measurement:
    """Build the current measurement from a prompt set (estimate, offline or live) or a run dir."""
    from llmaudit.analysis.regression import measure
    from llmaudit.replay import is_run_dir, load_prompts, read_manifest, read_results

    if estimate and offline:
        raise UsageError("--estimate and --offline are exclusive: --estimate sends nothing and reads no cache")
    if is_run_dir(target):
        if estimate or offline or no_cache:
            raise UsageError(f"{target} is a run directory; --estimate/--offline/--no-cache apply to a prompt set")
        table = read_results(target)
        if models:
            import pyarrow as pa
            import pyarrow.compute as pc

            from llmaudit.replay import parse_models

            wanted = pa.array([s.id for s in parse_models(models)])
            table = table.filter(pc.is_in(table.column("model"), value_set=wanted))
        manifest = read_manifest(target)
        if manifest.get("status") not in (None, "complete"):
            out.warning(f"{target}: the run is {manifest.get('status')}; measuring the requests that finished")
        if slo is None:  # the objectives the run was made with
            from llmaudit.analysis.latency import SLO

            slo = SLO.from_json((manifest.get("settings") or {}).get("slo"))
        return measure(table, mode="measured", source=str(target), catalog_as_of=manifest.get("catalog_as_of"),
                       volume=volume, llmaudit_version=version, slo=slo)  # fmt: skip
    if not models:
        raise UsageError("--models is required with a prompt set (or set models in the [check] config section)")
    prompts = load_prompts(target)
    from llmaudit.pricing import load_catalog

    catalog = load_catalog(config)
    from llmaudit.replay.models import check_models, parse_models

    for warning in check_models(parse_models(models), config, catalog, strict=estimate):
        out.warning(warning)
    if estimate:
        from llmaudit.replay.estimate import estimate as estimate_rows

        table = estimate_rows(prompts, models, catalog, repeats=1)
        return measure(table, mode="estimate", source=str(target), catalog_as_of=str(catalog.as_of), volume=volume,
                       llmaudit_version=version)  # fmt: skip
    return _replay(target, prompts, models, offline, repeats, run_dir, volume, config, catalog, version, slo,
                   no_cache)


def _replay(
    target: str,
    prompts: list[Any],
    models: list[str],
    offline: bool,
    repeats: int,
    run_dir: Path | None,
    volume: int | None,
    config: Config,
    catalog: Any,
    version: str,
    slo: Any = None,
    no_cache: bool = False,
) -> Measurement:
    from llmaudit.analysis.regression import measure
    from llmaudit.render.run import ReplayProgress
    from llmaudit.replay import ReplayOptions, parse_models, read_results, run_replay

    simulated = any(s.simulated for s in parse_models(models))
    with tempfile.TemporaryDirectory(prefix="llmaudit-check-") as tmp:
        directory = run_dir if run_dir is not None else Path(tmp) / "run"
        opts = ReplayOptions(repeats=repeats, offline=offline, prompts_path=target, config=config, catalog=catalog,
                             use_cache=not no_cache)  # fmt: skip
        # the replay's own progress bar, on stderr: stdout stays the report
        with ReplayProgress(out.stderr, simulated=simulated) as progress:
            opts.progress = progress.update
            summary = run_replay(prompts, models, directory, opts)
        table = read_results(directory)
    if offline and summary.errors:
        out.warning(
            f"{summary.errors} request(s) had no cached response and count as errors; "
            "fill the cache with one `llmaudit replay` run using the same prompts and models"
        )
    elif summary.errors:
        out.warning(f"{summary.errors} request(s) failed; they are counted as errors, not as cost")
    return measure(table, mode="measured", source=str(target), catalog_as_of=str(catalog.as_of), volume=volume,
                   llmaudit_version=version, slo=slo)  # fmt: skip
