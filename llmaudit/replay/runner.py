"""The replay runner: every prompt × model (× repeat) sent once, each ending as exactly one row.

Concurrency is bounded globally and per provider (semaphores), request starts are paced to the
requests-per-minute limits, and a retryable failure (429, 5xx, timeout, broken stream) is tried
again after an exponential, jittered backoff that honours ``Retry-After``. A request that still
fails becomes a row with ``status=error`` and the error text; nothing a provider does ends the
run. A provider that refuses every connection, or a model it says does not exist, opens a circuit
breaker (``breaker``): that provider's (or model's) remaining requests are not sent, and
``--resume`` sends them later; the other providers carry on. Configuration problems (unknown
provider, missing key, unpriced model under ``--max-cost``) raise before anything is sent.

Each finished request is journaled (fsync'd) before it counts as done, which is what makes
``--resume`` exact: finished keys are skipped, everything else is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit import __version__
from llmaudit.assertions import evaluate
from llmaudit.config import Config, load_config, why_unwritable
from llmaudit.errors import InputError, UsageError
from llmaudit.pricing import Catalog, load_catalog
from llmaudit.providers import ChatRequest, Completion, ProviderCallError
from llmaudit.replay.breaker import Breakers, CutOff
from llmaudit.replay.budget import Budget
from llmaudit.replay.costing import DEFAULT_OUTPUT_TOKENS, RequestEstimate, estimate_request, price_usage
from llmaudit.replay.limits import Pacer, RetryPolicy
from llmaudit.replay.models import ModelSpec, parse_models
from llmaudit.replay.prompts import Prompt, prompts_digest
from llmaudit.replay.rundir import (
    JOURNAL,
    MANIFEST,
    RESULTS,
    Journal,
    read_journal,
    read_manifest,
    row_key,
    write_manifest,
    write_results,
)
from llmaudit.tokens import count_messages, count_text
from llmaudit.usage import Usage

__all__ = ["Progress", "ReplayOptions", "RunSummary", "run_replay"]


# A stream that turns to garbage mid-way is a broken stream as far as retrying goes: the same
# request usually succeeds next time. (The providers layer files it as "malformed".)
_ALSO_RETRIED = frozenset({"malformed"})
# The usage counts a result row holds, in the row's column order.
_TOKEN_FIELDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
                 "reasoning_tokens", "web_search_requests")


@dataclass(frozen=True)
class Progress:
    """A snapshot for the progress display, sent after every finished request."""

    total: int
    done: int
    errors: int
    cached: int
    spent_usd: Decimal
    stopped: str | None = None


@dataclass
class ReplayOptions:
    concurrency: int = 8
    provider_concurrency: dict[str, int] = field(default_factory=dict)
    rpm: float | None = None
    provider_rpm: dict[str, float] = field(default_factory=dict)
    repeats: int = 1
    timeout_s: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_cost_usd: Decimal | None = None
    use_cache: bool = True
    offline: bool = False
    resume: bool = False
    retry_errors: bool = False
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS
    prompts_path: str | None = None
    config: Config | None = None
    catalog: Catalog | None = None
    cache_path: Path | None = None
    checkpoint_s: float = 5.0
    progress: Callable[[Progress], None] | None = None
    # Service-level objectives ({"ttft_ms": 500, ...}) the report counts goodput against.
    slo: dict[str, float] | None = None
    # Open-loop load: requests start at this mean rate (per second), gaps drawn from an exponential
    # distribution (Poisson arrivals, seeded so a sweep is repeatable); None starts them as slots free.
    arrival_rate: float | None = None
    arrival_seed: int = 0

    def settings(self) -> dict[str, Any]:
        """What goes into manifest.json (never a key: options hold none)."""
        return {
            "concurrency": self.concurrency,
            "provider_concurrency": self.provider_concurrency,
            "rpm": self.rpm,
            "provider_rpm": self.provider_rpm,
            "repeats": self.repeats,
            "timeout_s": self.timeout_s,
            "max_attempts": self.retry.max_attempts,
            "max_cost_usd": str(self.max_cost_usd) if self.max_cost_usd is not None else None,
            "cache": self.use_cache and not self.offline,
            "offline": self.offline,
            "default_output_tokens": self.default_output_tokens,
            "slo": self.slo,
            "arrival_rate": self.arrival_rate,
        }


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    planned: int  # prompt × model × repeat
    already_done: int  # finished in an earlier (resumed) run, not sent again
    sent: int  # requests that reached a provider (retries not counted twice)
    ok: int
    errors: int
    cached: int
    not_sent: int  # stopped by --max-cost or an interruption; --resume sends them
    spent_usd: Decimal  # priced cost of requests actually sent in this session
    unpriced_ok: int  # ok rows without a price (their cost is unknown, not zero)
    stopped: str | None  # "budget" | "interrupted" | None
    simulated: bool
    elapsed_s: float
    error_samples: tuple[str, ...] = ()
    # Models whose answer cost more than its --max-cost reservation (a server that ignores
    # max_tokens): nothing more was sent to them, so the budget still holds.
    overran: tuple[str, ...] = ()
    # Providers and models whose circuit breaker opened (connections refused, model not found):
    # their requests not answered by then were not sent.
    cut_off: tuple[CutOff, ...] = ()


@dataclass
class _Job:
    prompt: Prompt
    spec: ModelSpec
    repeat: int
    estimate: RequestEstimate | None  # only computed under --max-cost


@dataclass
class _State:
    total: int
    done: int = 0
    errors: int = 0
    cached: int = 0
    sent: int = 0
    ok: int = 0
    unpriced_ok: int = 0
    not_sent: int = 0
    stopped: str | None = None
    error_samples: list[str] = field(default_factory=list)


def run_replay(
    prompts: list[Prompt],
    models: list[str],
    run_dir: str | Path,
    options: ReplayOptions | None = None,
    *,
    client_factory: Callable[[str], Any] | None = None,
    adapters: dict[str, Any] | None = None,
) -> RunSummary:
    """Replay ``prompts`` against ``models`` into ``run_dir``; see the module docstring.

    ``client_factory(provider)`` returns the ``httpx.AsyncClient`` for a provider (tests hand in
    clients bound to a local server); by default ``providers.make_client`` builds them.
    ``adapters`` (provider → adapter) replaces ``providers.get_adapter`` in tests.
    """
    opts = options or ReplayOptions()
    if opts.repeats < 1:
        raise UsageError("--repeats must be at least 1")
    if opts.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if opts.timeout_s <= 0:
        raise UsageError("--timeout must be positive")
    if opts.arrival_rate is not None and not opts.arrival_rate > 0:
        raise UsageError("--rate must be a positive number of requests per second")
    specs = parse_models(models)
    config = opts.config or load_config()
    catalog = opts.catalog or load_catalog(config)
    directory = Path(run_dir)
    previous = _prepare_dir(directory, opts)
    opts, spent_before = _run_budget(directory, opts, previous)

    jobs: list[_Job] = []
    estimates: dict[tuple[str, str], RequestEstimate] = {}
    for spec in specs:
        for prompt in prompts:
            # Counting tokens for every request costs time; only a budget needs the estimates.
            if opts.max_cost_usd is not None:
                estimates[(prompt.id, spec.id)] = estimate_request(
                    prompt, spec.id, catalog, default_output_tokens=opts.default_output_tokens,
                    price_id=spec.price_id, exact_tokenizer=not spec.simulated,
                )
    for repeat in range(opts.repeats):
        for prompt in prompts:
            for spec in specs:
                jobs.append(_Job(prompt, spec, repeat, estimates.get((prompt.id, spec.id))))
    done_keys = {row_key(r) for r in previous if r.get("status") == "ok" or not opts.retry_errors}
    todo = [j for j in jobs if (j.prompt.id, j.spec.id, j.repeat) not in done_keys]
    if opts.max_cost_usd is not None:
        unpriced = sorted({j.spec.id for j in todo if j.estimate is None or j.estimate.cost_usd is None})
        if unpriced:
            raise UsageError(
                f"--max-cost needs a price for every model; no price for {', '.join(unpriced)} "
                "(add one with the [pricing.overrides] config section)"
            )
    adapters = adapters if adapters is not None else _adapters(specs, config, offline=opts.offline)
    # Everything that can be checked is checked before the run directory is made: a start that
    # fails must not leave a half-made run behind that asks for --resume.
    cache = _open_cache(opts)
    made = not directory.exists()
    try:
        journal = Journal(directory)  # takes the run directory's lock before anything is written
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    try:
        return _run(prompts, specs, opts, catalog, config, directory, previous, jobs, todo, adapters, journal,
                    cache, spent_before, client_factory)
    except Exception:
        journal.close()
        if cache is not None:
            cache.close()
        if not opts.resume and _nothing_journaled(directory):
            _undo_start(directory, made)
        raise


def _nothing_journaled(directory: Path) -> bool:
    try:
        return not read_journal(directory)
    except InputError:
        return False   # a journal with lines in it, even unreadable ones, is not ours to remove


def _open_cache(opts: ReplayOptions) -> Any:
    """The response cache, opened before anything is written; a home it cannot be written in
    ($LLMAUDIT_HOME a file, a read-only folder) is a usage error that names the path."""
    if not (opts.use_cache or opts.offline):
        return None
    import sqlite3

    from llmaudit.providers import ResponseCache
    from llmaudit.providers.cache import default_cache_path

    path = opts.cache_path or default_cache_path()
    try:
        return ResponseCache(path)
    except (OSError, sqlite3.Error) as exc:
        reason = why_unwritable(path, exc) if isinstance(exc, OSError) else str(exc)
        raise UsageError(f"cannot write the response cache {path}: {reason}. Point LLMAUDIT_HOME at a writable "
                         "folder, or pass --no-cache") from None


def _undo_start(directory: Path, made: bool) -> None:
    """Remove what a start that failed before any result wrote (so the same command can be run
    again), and the folder too when this start made it."""
    for name in (JOURNAL, MANIFEST, RESULTS, MANIFEST + ".tmp", RESULTS + ".tmp"):
        (directory / name).unlink(missing_ok=True)
    if made:
        try:
            directory.rmdir()
        except OSError:
            pass   # something else was put there meanwhile: leave it


def _run(prompts: list[Prompt], specs: list[ModelSpec], opts: ReplayOptions, catalog: Catalog, config: Config,
         directory: Path, previous: list[dict[str, Any]], jobs: list[_Job], todo: list[_Job],
         adapters: dict[str, Any], journal: Journal, cache: Any, spent_before: Decimal,
         client_factory: Callable[[str], Any] | None) -> RunSummary:
    manifest = _manifest(prompts, specs, opts, catalog, directory, read_manifest(directory) if opts.resume else {})
    # Which server answered for each provider (the cache is keyed on it too): base URLs only, never keys.
    manifest["endpoints"] = {name: _public_url(url) for name, adapter in sorted(adapters.items())
                             if isinstance(url := getattr(adapter, "base_url", None), str)}
    # The run's wall time sums its sessions; a session that was killed left none, so after one the
    # total (and the throughput it divides) is unknown rather than too small.
    prior = read_manifest(directory).get("wall_s") if opts.resume else None
    known_before = not previous or isinstance(prior, int | float)
    write_manifest(directory, {**manifest, "status": "running"})
    write_results(directory, previous)  # results.parquet exists from the start, even if killed early

    started = time.monotonic()
    state = _State(total=len(jobs), done=len(jobs) - len(todo))
    budget = Budget(opts.max_cost_usd, spent=spent_before)
    runner = _Runner(adapters, opts, catalog, journal, state, budget, directory, client_factory, config)
    runner.cache = cache
    runner.rows = {row_key(r): r for r in previous}
    try:
        asyncio.run(runner.run(todo))
    except KeyboardInterrupt:
        state.stopped = "interrupted"
        raise
    finally:
        journal.close()
        final_rows = read_journal(directory)
        write_results(directory, final_rows)
        finished = {row_key(r) for r in final_rows}
        unsent = [j for j in jobs if (j.prompt.id, j.spec.id, j.repeat) not in finished]
        state.not_sent = len(unsent)
        cut_off = _cut_off_counts(runner.breakers, unsent)
        summary = RunSummary(
            run_dir=directory,
            planned=len(jobs),
            already_done=len(jobs) - len(todo),
            sent=state.sent,
            ok=state.ok,
            errors=state.errors,
            cached=state.cached,
            not_sent=state.not_sent,
            spent_usd=budget.spent,
            unpriced_ok=state.unpriced_ok,
            stopped=state.stopped,
            simulated=any(s.simulated for s in specs),
            elapsed_s=time.monotonic() - started,
            error_samples=tuple(state.error_samples),
            overran=tuple(sorted(runner.overran)),
            cut_off=cut_off,
        )
        status = "complete" if state.not_sent == 0 else (state.stopped or "incomplete")
        extra: dict[str, Any] = {"overran_models": sorted(runner.overran)} if runner.overran else {}
        if cut_off:
            extra["cut_off"] = [c.to_json() for c in cut_off]
        if known_before and state.stopped != "interrupted":
            extra["wall_s"] = round(float(prior or 0) + runner.wall_s(), 6)
        write_manifest(directory, {**manifest, "status": status, "finished_at": datetime.now(UTC).isoformat(),
                                   "totals": _totals(final_rows, len(jobs), state.not_sent), **extra})
    return summary


def _cut_off_counts(breakers: Breakers, unsent: list[_Job]) -> tuple[CutOff, ...]:
    """The breakers that opened, each with the number of unsent requests it covers (a request
    covered by both its provider's and its model's breaker counts for the provider's)."""
    counts: dict[tuple[str, str], int] = {}
    for job in unsent:
        for key in (("provider", job.spec.provider), ("model", job.spec.id)):
            if key in breakers.opened:
                counts[key] = counts.get(key, 0) + 1
                break
    return tuple(dataclasses.replace(cut, not_sent=counts.get(key, 0)) for key, cut in breakers.opened.items())


def _run_budget(directory: Path, opts: ReplayOptions, previous: list[dict[str, Any]]
                ) -> tuple[ReplayOptions, Decimal]:
    """``--max-cost`` belongs to the run, not to one session: a resumed run keeps the cap its manifest
    recorded (unless a new one is given) and counts what earlier sessions already spent, so three
    sessions of a $0.05 run spend $0.05, not $0.15."""
    if not opts.resume:
        return opts, Decimal(0)
    if opts.max_cost_usd is None:
        prior = (read_manifest(directory).get("settings") or {}).get("max_cost_usd")
        if prior is not None:
            opts = dataclasses.replace(opts, max_cost_usd=Decimal(str(prior)))
    spent = sum((Decimal(str(r["cost_usd"])) for r in previous
                 if r.get("status") == "ok" and not r.get("cached") and r.get("cost_usd") is not None), Decimal(0))
    return opts, spent


def _prepare_dir(directory: Path, opts: ReplayOptions) -> list[dict[str, Any]]:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {directory} exists and is not a directory")
    has_run = (directory / JOURNAL).exists()
    if has_run and not opts.resume:
        raise UsageError(f"{directory} already holds a run; pass --resume to continue it, or choose another --out")
    if not has_run and directory.is_dir() and any(directory.iterdir()):
        # Not an llmaudit run (no results.jsonl) and not empty: its manifest.json or results.parquet
        # would be overwritten (a web app's manifest was).
        raise UsageError(f"--out {directory} is not empty and does not hold an llmaudit run; choose an empty or "
                         "new folder")
    for name in (JOURNAL, "manifest.json", "results.parquet"):
        if (directory / name).is_symlink():
            raise UsageError(f"{directory / name} is a symbolic link; a run directory's files must be its own")
    # The directory itself is made by the Journal, once every check has passed.
    if not opts.resume:
        return []
    old = read_manifest(directory)
    digest = old.get("prompts", {}).get("sha256")
    if digest and opts.prompts_path and digest != prompts_digest(opts.prompts_path):
        raise UsageError(
            f"{opts.prompts_path} changed since this run started; resume with the same prompt set or start a new --out"
        )
    return read_journal(directory)


def _adapters(specs: list[ModelSpec], config: Config, *, offline: bool = False) -> dict[str, Any]:
    from llmaudit.errors import MissingCredentialsError
    from llmaudit.providers import get_adapter

    adapters: dict[str, Any] = {}
    for spec in specs:
        if spec.provider in adapters:
            continue
        try:
            adapters[spec.provider] = get_adapter(spec.provider, config)
        except MissingCredentialsError:
            if not offline:
                raise
            # --offline never sends a request, so it needs no key: the adapter is only used to
            # build the request body the cache is keyed on.
            adapters[spec.provider] = get_adapter(spec.provider, config, require_key=False)
    return adapters


def _public_url(url: str) -> str:
    """A base URL without user:password@ or a query string (where a key could hide)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _manifest(
    prompts: list[Prompt], specs: list[ModelSpec], opts: ReplayOptions, catalog: Catalog, directory: Path,
    previous: dict[str, Any],
) -> dict[str, Any]:
    models = list(dict.fromkeys([*previous.get("models", []), *(s.id for s in specs)]))
    prompts_info: dict[str, Any] = {"count": len(prompts)}
    if opts.prompts_path:
        # absolute, so `report RUN_DIR --judge` finds it from any folder
        prompts_info["path"] = str(Path(opts.prompts_path).resolve())
        prompts_info["sha256"] = prompts_digest(opts.prompts_path)
    return {
        "kind": "llmaudit-replay",
        "llmaudit_version": __version__,
        "created_at": previous.get("created_at", datetime.now(UTC).isoformat()),
        "resumed": bool(previous),
        "prompts": prompts_info,
        "categories": sorted({p.category for p in prompts if p.category}),
        "checked_prompts": sum(1 for p in prompts if p.has_check),
        "models": models,
        "simulated_models": [m for m in models if m.split("/", 1)[0] == "sim"],
        "catalog_as_of": str(catalog.as_of),
        "settings": opts.settings(),
    }


def _totals(rows: list[dict[str, Any]], planned: int, not_sent: int) -> dict[str, Any]:
    ok = [r for r in rows if r.get("status") == "ok"]
    priced = [Decimal(str(r["cost_usd"])) for r in ok if r.get("cost_usd") is not None]
    spent = [Decimal(str(r["cost_usd"])) for r in ok if r.get("cost_usd") is not None and not r.get("cached")]
    return {
        "planned": planned,
        "rows": len(rows),
        "ok": len(ok),
        "errors": sum(1 for r in rows if r.get("status") == "error"),
        "cached": sum(1 for r in rows if r.get("cached")),
        "not_sent": not_sent,
        "cost_usd": str(sum(priced, Decimal(0))),
        "spent_usd": str(sum(spent, Decimal(0))),
        "unpriced_ok_rows": len(ok) - len(priced),
        "input_tokens": sum(int(r.get("input_tokens") or 0) for r in ok),
        "output_tokens": sum(int(r.get("output_tokens") or 0) for r in ok),
    }


_INT32_MAX = 2**31 - 1
# Checkpoints (results.parquet rewritten mid-run) are at least this many times their own duration apart.
_CHECKPOINT_SHARE = 20
# A request whose output cap is lowered to fit what is left of --max-cost keeps at least this many
# tokens: a shorter answer measures little; the run stops instead.
_MIN_LOWERED_OUTPUT = 16


def _chunk_offsets(chunks: tuple[int, ...] | None) -> list[int] | None:
    """The chunk arrival offsets as stored (int32 µs); a stream longer than int32 can hold (35
    minutes) keeps none rather than wrong ones, so its inter-chunk figures read unknown."""
    if not chunks or chunks[-1] > _INT32_MAX:
        return None
    return list(chunks)


class _Runner:
    def __init__(
        self,
        adapters: dict[str, Any],
        opts: ReplayOptions,
        catalog: Catalog,
        journal: Journal,
        state: _State,
        budget: Budget,
        directory: Path,
        client_factory: Callable[[str], Any] | None,
        config: Config,
    ) -> None:
        self.adapters = adapters
        self.opts = opts
        self.catalog = catalog
        self.journal = journal
        self.state = state
        self.budget = budget
        self.overran: set[str] = set()
        self.breakers = Breakers()
        self.directory = directory
        self.client_factory = client_factory
        self.config = config
        self.global_sem = asyncio.Semaphore(opts.concurrency)
        self.provider_sem = {
            p: asyncio.Semaphore(opts.provider_concurrency.get(p, opts.concurrency)) for p in adapters
        }
        self.global_pacer = Pacer(opts.rpm) if opts.rpm else None
        self.provider_pacer = {p: Pacer(r) for p, r in opts.provider_rpm.items() if p in adapters and r}
        # A 429 with Retry-After speaks for the provider, not just the request that got it: no
        # request to that provider starts before the time it named.
        self.cooldown: dict[str, float] = {}
        self.clients: dict[str, Any] = {}  # provider → ClientLanes
        self.cache: Any = None
        # The run's rows as the journal holds them (a key's last row wins), kept as they are
        # appended, so a checkpoint writes the table without reading the journal back.
        self.rows: dict[tuple[str, str, int], dict[str, Any]] = {}
        self._last_checkpoint = time.monotonic()
        self._checkpoint_every = opts.checkpoint_s
        # Monotonic times of the first request sent and the last one settled: the session's wall time.
        self.first_sent: float | None = None
        self.last_settled: float | None = None
        # Requests holding a --max-cost reservation, and the event that says one settled.
        self.in_flight = 0
        self._settled = asyncio.Event()

    def wall_s(self) -> float:
        if self.first_sent is None or self.last_settled is None:
            return 0.0
        return max(self.last_settled - self.first_sent, 0.0)

    async def run(self, jobs: list[_Job]) -> None:
        try:
            self._report()
            await self._feed(jobs)
        finally:
            for lanes in self.clients.values():
                await lanes.aclose()
            if self.cache is not None and hasattr(self.cache, "close"):
                self.cache.close()

    async def _feed(self, jobs: list[_Job]) -> None:
        """Run every job, with at most a window of them alive at once.

        One task per job for a 100k-prompt set would hold 100k coroutines; the window keeps memory
        flat while staying far wider than any concurrency limit, so a slow provider's waiting
        jobs do not starve the others (jobs are interleaved across models).
        """
        window = asyncio.Semaphore(max(1000, 16 * self.opts.concurrency))
        tasks: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []

        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            window.release()
            if not task.cancelled() and task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]

        arrivals = random.Random(self.opts.arrival_seed) if self.opts.arrival_rate else None
        try:
            for n, job in enumerate(jobs):
                if arrivals is not None and n:
                    await asyncio.sleep(arrivals.expovariate(self.opts.arrival_rate or 1.0))
                await window.acquire()
                if failures:
                    break
                task = asyncio.create_task(self._job(job))
                tasks.add(task)
                task.add_done_callback(done)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        if failures:
            raise failures[0]  # a bug in the runner itself: keep its traceback

    def _lanes(self, provider: str) -> Any:
        lanes = self.clients.get(provider)
        if lanes is None:
            from llmaudit.providers import ClientLanes, make_lanes

            if self.client_factory is not None:
                lanes = ClientLanes(shared=self.client_factory(provider))
            else:
                # A client per request in flight, each with one connection: a shared pool's
                # bookkeeping grows with its size and would be the bottleneck of a fast server.
                # The connection gets at most half of a request's time (10 s by default), so that
                # a host that never answers shows as a connect timeout, which the breaker counts,
                # rather than as this attempt's own timeout, which it cannot tell from a slow model.
                lanes = make_lanes(provider, self.config, timeout_s=self.opts.timeout_s,
                                   connect_timeout=min(10.0, self.opts.timeout_s / 2))
            self.clients[provider] = lanes
        return lanes

    def _request(self, job: _Job) -> ChatRequest:
        max_tokens = job.prompt.max_tokens
        if max_tokens is None and job.estimate is not None:
            # A budget needs an upper bound on every request's cost: cap output at the estimate.
            max_tokens = job.estimate.output_tokens
        meta = {
            "prompt_id": job.prompt.id,
            "category": job.prompt.category,
            "expected": job.prompt.expected,
            "assert": job.prompt.asserts,
            "repeat": job.repeat,
        }
        return ChatRequest(
            model=job.spec.native,
            messages=job.prompt.messages,
            max_tokens=max_tokens,
            temperature=job.prompt.temperature,
            stream=True,
            meta=meta,
        )

    async def _job(self, job: _Job) -> None:
        if self.state.stopped:
            return
        adapter = self.adapters[job.spec.provider]
        req = self._request(job)
        cache_key = None
        started_at = datetime.now(UTC)
        if self.cache is not None:
            body = adapter.body(req)
            if job.spec.simulated:
                # The simulator answers from the request's meta too (handed to its transport, not in
                # the body), so its answers are keyed on it, as when the meta travelled in the body.
                body = {**body, "llmaudit_sim": dict(req.meta)}
            # Repeats measure variation: each repeat is its own cache entry, not a copy of the first.
            if job.repeat:
                body = {**body, "llmaudit_repeat": job.repeat}
            cache_key = self.cache.key_for(job.spec.provider, job.spec.native, body,
                                           getattr(adapter, "base_url", None))
            hit = self.cache.get(cache_key)
            if hit is not None:
                self._finish(job, self._ok_row(job, hit, started_at, attempts=0, cached=True)[0])
                return
        if self.opts.offline:
            self._finish(job, self._error_row(job, started_at, "offline", "offline: no cached response", None, 0))
            return
        if self.breakers.open_for(job.spec.provider, job.spec.id) is not None:
            return  # not sent: the provider refuses connections, or the model does not exist there
        async with self.global_sem, self.provider_sem[job.spec.provider]:
            if self.state.stopped:
                return
            if job.spec.id in self.overran:
                return  # not sent: this model's answers cost more than the budget assumes
            if self.breakers.open_for(job.spec.provider, job.spec.id) is not None:
                return  # opened while this request waited for a slot
            reserved = await self._reserve(job)
            if reserved is None:
                if not self.state.stopped:
                    self.state.stopped = "budget"
                    self._report()
                return
            reserve, lowered = reserved
            if lowered is not None:
                req = dataclasses.replace(req, max_tokens=lowered)
                cache_key = None  # a shortened request's answer is not the answer to the full one
            self.in_flight += 1
            self.state.sent += 1
            if self.first_sent is None:
                self.first_sent = time.monotonic()
            lanes = self._lanes(job.spec.provider)
            client = lanes.acquire()
            try:
                await self._send(job, adapter, req, client, reserve, lowered, cache_key)
            finally:
                lanes.release(client)

    async def _send(self, job: _Job, adapter: Any, req: ChatRequest, client: Any, reserve: Decimal,
                    lowered: int | None, cache_key: str | None) -> None:
        """Attempt ``req`` until it succeeds or is given up, and finish its row."""
        attempts = 0
        started_at = datetime.now(UTC)
        provider, model = job.spec.provider, job.spec.id
        while True:
            await self._pace(provider)
            if self.breakers.open_for(provider, model) is not None:
                self._unsent(reserve)  # the breaker opened while this request waited to (re)try
                return
            attempts += 1
            error = await self._attempt(adapter, req, client)
            if isinstance(error, Completion):
                self.breakers.answered(provider, model)
                completion = error
                if self.cache is not None and cache_key is not None and self.opts.use_cache:
                    # A sqlite commit can take milliseconds; keep it off the event loop.
                    await asyncio.to_thread(
                        self.cache.put, cache_key, completion, provider=job.spec.provider, model=job.spec.native
                    )
                row, cost = self._ok_row(job, completion, started_at, attempts=attempts, cached=False)
                row["budget_max_tokens"] = lowered
                self._settle(reserve, cost)
                if self.budget.limit is not None and cost is not None and cost > reserve:
                    # The bound assumes at most max_tokens of output; a server that ignores it
                    # can pass the cap. Stop sending to that model rather than trust it again.
                    self.overran.add(job.spec.id)
                self._finish(job, row)
                return
            self.breakers.record(provider, model, error)
            if error.cause == "unreachable" and self.breakers.open_for(provider, model) is not None:
                # The request never reached the provider: left unsent, for --resume, not an error row.
                self._unsent(reserve)
                return
            if error.kind == "rate_limited" and error.retry_after \
                    and error.retry_after <= self.opts.retry.max_retry_after_s:
                # The provider asked every request to wait. A Retry-After beyond the cap gives up
                # this request (below) and must not stall the provider's others for the cap.
                until = time.monotonic() + error.retry_after
                self.cooldown[job.spec.provider] = max(self.cooldown.get(job.spec.provider, 0.0), until)
            retryable = error.retryable or error.kind in _ALSO_RETRIED
            delay = self.opts.retry.delay(attempts, error.retry_after) if retryable else None
            if delay is None:
                self._settle(reserve, None)
                message = str(error)
                if retryable and attempts >= self.opts.retry.max_attempts:
                    message = f"{message} (gave up after {attempts} attempts)"
                elif retryable:
                    message = f"{message} (Retry-After {error.retry_after:g} s is too long to wait)"
                row = self._error_row(job, started_at, error.kind, message, error.status, attempts)
                row["budget_max_tokens"] = lowered
                self._finish(job, row)
                return
            await self.breakers.sleep(delay, provider, model)

    def _unsent(self, reserve: Decimal) -> None:
        """A request that was counted as sent ends with no row: the breaker covering it opened."""
        self._settle(reserve, None)
        self.state.sent -= 1

    async def _reserve(self, job: _Job) -> tuple[Decimal, int | None] | None:
        """Reserve the job's worst-case cost under --max-cost: (the reservation, a lowered
        max_tokens or None), or None when the run must stop.

        A request that does not fit yet waits for in-flight requests to settle: they reserved their
        worst case and usually cost far less, so settling frees room. Only when nothing is in flight
        and it still does not fit is its output cap lowered to what the rest of the budget covers
        (never below ``_MIN_LOWERED_OUTPUT`` tokens): spending most of the budget, never more of it.
        """
        estimate = job.estimate
        reserve = (estimate.budget_usd if estimate else None) or Decimal(0)
        while not self.budget.try_reserve(reserve):
            if self.state.stopped:
                return None
            if self.in_flight == 0:
                return self._lowered(job)
            await self._settled.wait()
        return reserve, None

    def _lowered(self, job: _Job) -> tuple[Decimal, int] | None:
        estimate = job.estimate
        if estimate is None or self.budget.limit is None:
            return None
        left = self.budget.limit - self.budget.spent - self.budget.reserved

        def bound(tokens: int) -> Decimal | None:
            cost, _ = price_usage(self.catalog, job.spec.price_id, Usage(estimate.input_tokens, tokens))
            return dataclasses.replace(estimate, output_tokens=tokens, cost_usd=cost).budget_usd

        low, high, best = min(_MIN_LOWERED_OUTPUT, estimate.output_tokens), estimate.output_tokens - 1, None
        while low <= high:  # the largest cap whose worst case fits what is left
            mid = (low + high) // 2
            cost = bound(mid)
            if cost is not None and cost <= left:
                best, low = (cost, mid), mid + 1
            else:
                high = mid - 1
        if best is None or not self.budget.try_reserve(best[0]):
            return None
        return best

    def _settle(self, reserve: Decimal, cost: Decimal | None) -> None:
        self.budget.settle(reserve, cost)
        self.in_flight -= 1
        # Wake the requests waiting for room; each tries its reservation again.
        self._settled.set()
        self._settled = asyncio.Event()

    async def _pace(self, provider: str) -> None:
        while (wait := self.cooldown.get(provider, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        if self.global_pacer is not None:
            await self.global_pacer.wait()
        pacer = self.provider_pacer.get(provider)
        if pacer is not None:
            await pacer.wait()

    async def _attempt(self, adapter: Any, req: ChatRequest, client: Any) -> Completion | ProviderCallError:
        """One attempt: the Completion, or the ProviderCallError it ended with."""
        try:
            # asyncio.timeout, not wait_for: wait_for runs the call in a task of its own, one more
            # task to schedule per request.
            async with asyncio.timeout(self.opts.timeout_s):
                return await adapter.complete(req, client)
        except ProviderCallError as exc:
            return exc
        except TimeoutError:
            return ProviderCallError("timeout", f"no complete response within {self.opts.timeout_s:g} s")
        except Exception as exc:  # an adapter bug must cost one row, not the whole run
            return ProviderCallError("client", f"unexpected {type(exc).__name__}: {exc}")

    def _base_row(self, job: _Job, started_at: datetime) -> dict[str, Any]:
        return {
            "timestamp": started_at,
            "provider": job.spec.provider,
            "model": job.spec.id,
            "model_raw": job.spec.native,
            "requests": 1,
            "source_format": "replay",
            "batch": False,
            "tags": list(job.prompt.tags),
            "source_file": job.prompt.path,
            "source_line": job.prompt.line,
            "prompt_id": job.prompt.id,
            "category": job.prompt.category,
            "repeat": job.repeat,
            "simulated": job.spec.simulated,
        }

    def _error_row(
        self, job: _Job, started_at: datetime, kind: str, message: str, status: int | None, attempts: int
    ) -> dict[str, Any]:
        return {
            **self._base_row(job, started_at),
            "status": "error",
            "error": message,
            "error_kind": kind,
            "http_status": status,
            "attempts": attempts,
            "cached": False,
            "price_status": "unpriced",
        }

    def _ok_row(
        self, job: _Job, comp: Completion, started_at: datetime, *, attempts: int, cached: bool
    ) -> tuple[dict[str, Any], Decimal | None]:
        """The result row, and its exact cost (the row holds it as a float64, per the schema)."""
        usage = comp.usage
        source = "reported"
        if usage is None:
            # The server reported no usage (some local servers): count offline and say so.
            usage = Usage(count_messages(job.prompt.messages, job.spec.price_id).tokens,
                          count_text(comp.text, job.spec.price_id).tokens)
            source = "estimated"
        tokens = {name: getattr(usage, name) for name in _TOKEN_FIELDS}
        billed = float(usage.cost_reported) if usage.cost_reported is not None else None
        cost, price_status = price_usage(self.catalog, job.spec.price_id, usage)
        check = evaluate(job.prompt.asserts, comp.text, expected=job.prompt.expected)
        tps = comp.output_tokens_per_second(tokens["output_tokens"])
        row = {
            **self._base_row(job, started_at),
            **tokens,
            "model_raw": comp.model_reported or job.spec.native,
            "cost_usd": float(cost) if cost is not None else None,
            "billed_cost_usd": billed,
            "price_status": price_status,
            "request_id": comp.request_id,
            # A cached answer took no time to fetch; its stored timing is not a measurement.
            "latency_ms": None if cached else comp.latency_ms,
            "ttft_ms": None if cached else comp.ttft_ms,
            "tokens_per_s": None if cached else tps,
            "chunk_us": None if cached else _chunk_offsets(comp.chunk_us),
            "status": "ok",
            "http_status": comp.status_code,
            "usage_estimated": source == "estimated",
            "usage_source": source,
            "attempts": attempts,
            "cached": cached,
            "passed": check.passed if check is not None else None,
            "check_reason": (check.reason if not check.passed else None) if check is not None else None,
            "output_text": comp.text,
        }
        return row, cost

    def _finish(self, job: _Job, row: dict[str, Any]) -> None:
        if row.get("attempts"):
            self.last_settled = time.monotonic()
        self.journal.append(row)
        key = row_key(row)
        self.rows.pop(key, None)   # re-inserted: the table keeps the order results arrived in
        self.rows[key] = row
        st = self.state
        st.done += 1
        if row["status"] == "ok":
            st.ok += 1
            if row["cost_usd"] is None:
                st.unpriced_ok += 1
        else:
            st.errors += 1
            if len(st.error_samples) < 5:
                st.error_samples.append(f"{job.prompt.id} × {job.spec.id}: {row['error']}")
        if row.get("cached"):
            st.cached += 1
        now = time.monotonic()
        if now - self._last_checkpoint >= self._checkpoint_every:
            write_results(self.directory, list(self.rows.values()))
            self._last_checkpoint = time.monotonic()
            if self.opts.checkpoint_s > 0:
                # A checkpoint rewrites every row so far while the event loop waits (and every
                # stream's chunk times with it): spaced out as the table grows, so that it never
                # takes more than 1/_CHECKPOINT_SHARE of the run. The journal is what counts.
                took = self._last_checkpoint - now
                self._checkpoint_every = max(self.opts.checkpoint_s, took * _CHECKPOINT_SHARE)
        self._report()

    def _report(self) -> None:
        if self.opts.progress is not None:
            st = self.state
            self.opts.progress(Progress(st.total, st.done, st.errors, st.cached, self.budget.spent, st.stopped))
