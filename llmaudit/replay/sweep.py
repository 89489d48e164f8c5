"""Load sweeps (``replay --sweep concurrency=1,4,16`` or ``--rate 1,5,20``): the prompt set run once
per load level, each level a run directory of its own under the sweep's.

``SWEEP_DIR/sweep.json`` lists the levels in order and the folder of each
(``concurrency-4/``, ``rate-5/``); every folder is an ordinary run directory, so ``report`` reads
a level like any run. Closed-loop levels (``concurrency``) keep N requests in flight; open-loop
levels (``rate``) start requests at a mean rate per second with Poisson arrivals, whatever is in
flight (up to a generous cap). The response cache is never read: a cached answer measures no load.
``--max-cost`` covers the whole sweep: each level gets what the levels before it left, and the
sweep stops at the first level the budget stopped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmaudit.errors import InputError, UsageError
from llmaudit.replay.prompts import Prompt
from llmaudit.replay.runner import ReplayOptions, RunSummary, run_replay

__all__ = ["SWEEP", "SweepLevel", "is_sweep_dir", "parse_levels", "read_sweep", "run_sweep"]

SWEEP = "sweep.json"
# In-flight cap for open-loop (rate) levels: high enough not to shape the load, bounded so a
# server that stops answering cannot make the client open thousands of connections.
RATE_CONCURRENCY = 256


@dataclass(frozen=True)
class SweepLevel:
    kind: str  # "concurrency" | "rate"
    value: float

    @property
    def label(self) -> str:
        return f"{self.kind}={self.value:g}"

    @property
    def folder(self) -> str:
        return f"{self.kind}-{self.value:g}"


_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def parse_levels(sweep: str | None, rate: str | None) -> list[SweepLevel]:
    """``--sweep concurrency=1,4,16`` or ``--rate 1,5,20`` → the levels, in the order given."""
    if sweep is not None and rate is not None:
        raise UsageError("--sweep and --rate are two kinds of sweep; give one")
    if rate is not None:
        kind, values = "rate", rate
    elif sweep is not None:
        name, sep, values = sweep.partition("=")
        kind = name.strip().lower()
        if not sep or kind not in ("concurrency", "rate"):
            raise UsageError(f"--sweep: expected concurrency=N,N,... or rate=R,R,..., got {sweep!r}")
    else:
        return []
    flag = "--rate" if rate is not None else "--sweep"
    levels = []
    for item in values.split(","):
        if not _NUMBER.match(item) or float(item) <= 0:
            raise UsageError(f"{flag}: {item.strip()!r} is not a positive number")
        if kind == "concurrency" and float(item) != int(float(item)):
            raise UsageError(f"{flag}: concurrency {item.strip()!r} is not a whole number")
        levels.append(SweepLevel(kind, float(item)))
    if len({lv.value for lv in levels}) != len(levels):
        raise UsageError(f"{flag}: a level is given twice")
    return levels


def run_sweep(prompts: list[Prompt], models: list[str], sweep_dir: str | Path, options: ReplayOptions,
              levels: list[SweepLevel], *, client_factory: Any = None) -> list[tuple[SweepLevel, RunSummary]]:
    """Run every level in turn into ``sweep_dir/<level>/``; ``sweep.json`` is written first and
    lists them all, so a sweep cut short still reports the levels that finished."""
    directory = Path(sweep_dir)
    if options.resume:
        raise UsageError("--resume does not apply to a sweep; run the sweep again into a new --out")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"--out {directory} exists and is not an empty folder; a sweep needs a new one")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / SWEEP).write_text(json.dumps({
            "kind": "llmaudit-sweep",
            "created_at": datetime.now(UTC).isoformat(),
            "models": models,
            "levels": [{"kind": lv.kind, "value": lv.value, "dir": lv.folder} for lv in levels],
        }, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {directory}: cannot write: {exc.strerror or exc}") from None
    results: list[tuple[SweepLevel, RunSummary]] = []
    left = options.max_cost_usd
    for level in levels:
        if level.kind == "concurrency":
            opts = dataclasses.replace(options, concurrency=int(level.value), use_cache=False, max_cost_usd=left)
        else:
            opts = dataclasses.replace(options, arrival_rate=level.value, use_cache=False, max_cost_usd=left,
                                       concurrency=max(options.concurrency, RATE_CONCURRENCY))
        summary = run_replay(prompts, models, directory / level.folder, opts, client_factory=client_factory)
        results.append((level, summary))
        if left is not None:
            left -= summary.spent_usd
            if summary.stopped == "budget" or left <= 0:
                break  # the levels after it are not run (sweep.json lists them; report shows those run)
    return results


def is_sweep_dir(path: str | Path) -> bool:
    return (Path(path) / SWEEP).is_file()


def read_sweep(path: str | Path) -> list[tuple[SweepLevel, Path]]:
    """The levels of a sweep directory and their run folders (those that exist)."""
    file = Path(path) / SWEEP
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        levels = [(SweepLevel(str(lv["kind"]), float(lv["value"])), Path(path) / str(lv["dir"]))
                  for lv in data["levels"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable sweep file: {exc}", path=str(file)) from None
    return [(level, folder) for level, folder in levels if folder.is_dir()]
