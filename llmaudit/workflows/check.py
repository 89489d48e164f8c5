"""``llmaudit check``: measure a prompt set or a replay run and compare it with a committed baseline.

Three ways to measure (the comparison is the same): ``estimate`` counts a prompt set's tokens
locally and prices them (no key, no network); ``offline`` replays the prompt set from the
response cache; a replay run directory is measured as it is. Without either a prompt set is
replayed live (keys needed, or ``sim/*`` models). With ``write_baseline`` the measurement becomes
the new baseline (and is compared with the old one of the same mode, so people see what they accept).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import CheckFailed, UsageError
from llmaudit.workflows.notices import Notices, ReplayProgressFactory, Silent, no_replay_progress

if TYPE_CHECKING:
    from llmaudit.analysis.common.latency import SLO
    from llmaudit.analysis.gate.findings import CheckReport
    from llmaudit.analysis.gate.measurement import Measurement
    from llmaudit.analysis.gate.policy import Policies
    from llmaudit.config import Config
    from llmaudit.pricing.catalog import Catalog

__all__ = ["DEFAULT_BASELINE", "CheckOptions", "CheckResult", "run_check"]

DEFAULT_BASELINE = "llmaudit-baseline.json"
# the shapes render.check.render_comment knows (render is not imported here; a test keeps the two equal)
COMMENT_MODES = ("always", "on-change", "on-increase")

@dataclass(frozen=True)
class CheckOptions:
    """The flags of ``check``, as given; the [check] config section fills what a flag leaves out."""

    target: str  # a prompt set (JSONL) or a replay run directory
    models: tuple[str, ...] = ()
    estimate: bool = False
    offline: bool = False
    no_cache: bool = False
    baseline: str | None = None
    write_baseline: bool = False
    volume: str | None = None  # requests per month
    thresholds: Mapping[str, str | None] = field(default_factory=dict)  # max_cost_increase=…: the policy flags
    slo: str | None = None
    mix: Path | None = None
    repeats: int = 1
    run_dir: Path | None = None  # keep the live replay here (a temporary folder otherwise)
    comment_mode: str | None = None
    config: Path | None = None


@dataclass(frozen=True)
class CheckResult:
    current: Measurement
    baseline_path: str
    report: CheckReport | None  # the comparison; with write_baseline, against the old baseline of the same mode
    comment_mode: str  # always | on-change | on-increase (the flag, else [check] comment_mode)
    wrote_baseline: bool = False

    def failure(self) -> CheckFailed | None:
        """The error a failed comparison ends with (exit 1), or None."""
        if self.wrote_baseline or self.report is None or self.report.status != "fail":
            return None
        n = len(self.report.failures)
        return CheckFailed(f"cost regression: {n} check{'s' if n != 1 else ''} failed; "
                           f"if the change is intended, accept it with --write-baseline and commit "
                           f"{self.baseline_path}")


def run_check(options: CheckOptions, notices: Notices | None = None,
              progress: ReplayProgressFactory | None = None) -> CheckResult:
    """Measure, then compare with the baseline (or write it)."""
    from llmaudit import __version__
    from llmaudit.analysis.common.latency import parse_slo
    from llmaudit.analysis.gate.baseline import read_baseline
    from llmaudit.analysis.gate.comparison import compare
    from llmaudit.analysis.gate.mix import apply_mix, read_mix
    from llmaudit.analysis.gate.policy import policies_from
    from llmaudit.config import load_config
    from llmaudit.units import parse_request_volume as parse_volume

    notices = notices or Silent()
    config = load_config(options.config)
    section = config.section("check")
    policies = policies_from(section, dict(options.thresholds), f"{config.path or 'config'} [check]")
    declared = options.volume if options.volume is not None else section.get("volume")
    where = "--volume" if options.volume is not None else "[check] volume"
    vol = parse_volume(declared, where) if declared else None
    mix_path = options.mix if options.mix is not None else section.get("mix")
    if mix_path is not None and not isinstance(mix_path, (str, Path)):
        raise UsageError(f"[check] mix: expected a file name, got {mix_path!r}")
    traffic = read_mix(mix_path) if mix_path is not None else None
    if vol is None and traffic is not None and traffic.requests_per_month:
        vol = traffic.requests_per_month  # the logs' own rate projects the month
    mode = _comment_mode(options.comment_mode, section)
    models = list(options.models) or _config_models(section)
    base_path = options.baseline or str(section.get("baseline", DEFAULT_BASELINE))
    slo_text = options.slo if options.slo is not None else section.get("slo")
    objectives = parse_slo(str(slo_text), "--slo" if options.slo is not None else "[check] slo") if slo_text else None
    if options.no_cache and (options.offline or options.estimate):
        raise UsageError("--no-cache applies to a live replay; --offline reads the cache and --estimate sends nothing")
    measured = _Measuring(options, models, vol, config, __version__, objectives, notices, progress)
    current = measured.measure()
    if options.write_baseline:
        return _write_baseline(current, base_path, policies, vol, mode)
    base, notes = read_baseline(base_path), None
    if traffic is not None:
        base, current, notes = apply_mix(base, current, traffic)
    report = compare(base, current, policies.base, volume=vol, baseline_path=base_path, notes=notes,
                     policies=policies)
    return CheckResult(current, base_path, report, mode)


def _write_baseline(current: Measurement, path: str, policies: Policies, volume: int | None,
                    mode: str) -> CheckResult:
    """Save ``current`` as the baseline, with the changes against the old one of the same mode."""
    from llmaudit.analysis.gate.baseline import read_baseline, write_baseline
    from llmaudit.analysis.gate.comparison import compare
    from llmaudit.errors import BaselineError

    old = None
    if Path(path).exists():
        try:
            old = read_baseline(path)
        except BaselineError:  # an unreadable old baseline is exactly what --write-baseline replaces
            old = None
    report = None
    if old is not None and old.mode == current.mode:
        report = compare(old, current, policies.base, volume=volume, baseline_path=path, policies=policies)
    write_baseline(current, path)
    return CheckResult(current, path, report, mode, wrote_baseline=True)


def _comment_mode(flag: str | None, section: dict[str, Any]) -> str:
    mode = flag if flag is not None else section.get("comment_mode", "always")
    where = "--comment-mode" if flag is not None else "[check] comment_mode"
    if mode not in COMMENT_MODES:
        raise UsageError(f"{where}: expected one of {', '.join(COMMENT_MODES)}, got {mode!r}")
    return str(mode)


def _config_models(section: dict[str, Any]) -> list[str]:
    value = section.get("models", [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError("[check] models must be a list of provider/model strings")
    return value


@dataclass
class _Measuring:
    """The current measurement from a prompt set (estimate, offline or live) or a run directory."""

    options: CheckOptions
    models: list[str]
    volume: int | None
    config: Config
    version: str
    slo: SLO | None
    notices: Notices
    progress: ReplayProgressFactory | None

    def measure(self) -> Measurement:
        from llmaudit.analysis.gate.measurement import measure
        from llmaudit.replay import is_run_dir, load_prompts
        from llmaudit.replay.models import check_models, parse_models

        o, target = self.options, self.options.target
        if o.estimate and o.offline:
            raise UsageError("--estimate and --offline are exclusive: --estimate sends nothing and reads no cache")
        if is_run_dir(target):
            return self._run_dir()
        if not self.models:
            raise UsageError("--models is required with a prompt set (or set models in the [check] config section)")
        prompts = load_prompts(target)
        from llmaudit.pricing import load_catalog

        catalog = load_catalog(self.config)
        for warning in check_models(parse_models(self.models), self.config, catalog, strict=o.estimate):
            self.notices.warning(warning)
        if o.estimate:
            from llmaudit.replay.estimate import estimate as estimate_rows

            table = estimate_rows(prompts, self.models, catalog, repeats=1)
            return measure(table, mode="estimate", source=str(target), catalog_as_of=str(catalog.as_of),
                           volume=self.volume, llmaudit_version=self.version)
        return self._replay(prompts, catalog)

    def _run_dir(self) -> Measurement:
        from llmaudit.analysis.gate.measurement import measure
        from llmaudit.replay import read_manifest, read_results

        o, target, slo = self.options, self.options.target, self.slo
        if o.estimate or o.offline or o.no_cache:
            raise UsageError(f"{target} is a run directory; --estimate/--offline/--no-cache apply to a prompt set")
        table = read_results(target)
        if self.models:
            import pyarrow as pa
            import pyarrow.compute as pc

            from llmaudit.replay import parse_models

            wanted = pa.array([s.id for s in parse_models(self.models)])
            table = table.filter(pc.is_in(table.column("model"), value_set=wanted))
        manifest = read_manifest(target)
        if manifest.get("status") not in (None, "complete"):
            self.notices.warning(f"{target}: the run is {manifest.get('status')}; measuring the requests that "
                                 "finished")
        if slo is None:  # the objectives the run was made with
            from llmaudit.analysis.common.latency import SLO

            slo = SLO.from_json((manifest.get("settings") or {}).get("slo"))
        return measure(table, mode="measured", source=str(target), catalog_as_of=manifest.get("catalog_as_of"),
                       volume=self.volume, llmaudit_version=self.version, slo=slo)

    def _replay(self, prompts: list[Any], catalog: Catalog) -> Measurement:
        from llmaudit.analysis.gate.measurement import measure
        from llmaudit.replay import ReplayOptions, parse_models, read_results, run_replay

        o = self.options
        simulated = any(s.simulated for s in parse_models(self.models))
        with tempfile.TemporaryDirectory(prefix="llmaudit-check-") as tmp:
            directory = o.run_dir if o.run_dir is not None else Path(tmp) / "run"
            opts = ReplayOptions(repeats=o.repeats, offline=o.offline, prompts_path=o.target, config=self.config,
                                 catalog=catalog, use_cache=not o.no_cache)
            # the replay's own progress display (stderr for the CLI): stdout stays the report
            with (self.progress or no_replay_progress)(simulated) as watch:
                opts.progress = watch.update
                summary = run_replay(prompts, self.models, directory, opts)
            table = read_results(directory)
        if o.offline and summary.errors:
            self.notices.warning(
                f"{summary.errors} request(s) had no cached response and count as errors; "
                "fill the cache with one `llmaudit replay` run using the same prompts and models"
            )
        elif summary.errors:
            self.notices.warning(f"{summary.errors} request(s) failed; they are counted as errors, not as cost")
        for cut in summary.cut_off:   # a wrong key or a dead provider must not pass as a small measurement
            from llmaudit.replay.breaker import cut_off_headline

            self.notices.warning(f"{cut_off_headline(cut.to_json())}; {cut.not_sent} of its requests were not "
                                 "sent and are not in this check's figures")
        return measure(table, mode="measured", source=str(o.target), catalog_as_of=str(catalog.as_of),
                       volume=self.volume, llmaudit_version=self.version, slo=self.slo)
