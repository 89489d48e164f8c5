"""Shared helpers for the benchmark scripts: work dir, timed subprocess runs, peak RSS, results.

Every benchmark measures its baseline in the same run on the same machine and prints ratios, so
the figures mean something on any box; absolute seconds are printed too, for context.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = Path(os.environ.get("LLMAUDIT_BENCH_WORK", BENCH / "_work"))
RESULTS = WORK / "results"
NPM_DIR = WORK / "npm"
LITELLM_VENV = WORK / "litellm-venv"
_LOAD_AT_START = os.getloadavg()  # other jobs on a shared machine skew timings: record how busy it was


def work(*parts: str) -> Path:
    path = WORK.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def llmaudit_cmd() -> list[str]:
    """The installed `llmaudit` entry point beside this interpreter (not a pyenv shim, which adds its
    own start-up time), else the one on PATH, else `python -m llmaudit` from this checkout."""
    beside = Path(sys.executable).parent / "llmaudit"
    if beside.exists():
        return [str(beside)]
    exe = shutil.which("llmaudit")
    return [exe] if exe else [sys.executable, "-m", "llmaudit"]


@dataclass
class Run:
    cmd: list[str]
    wall_s: float
    max_rss_mb: float | None
    returncode: int
    stdout: str
    stderr: str


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True, measure_rss: bool = True) -> Run:
    """Run ``cmd`` once; wall time from this process, peak RSS (children included) from GNU time."""
    full_env = {**os.environ, **(env or {})}
    # A user's install has its bytecode compiled; without it every run recompiles llmaudit (0.1 s).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = list(cmd)
    timefile = None
    if measure_rss and Path("/usr/bin/time").exists():
        timefile = WORK / f".time-{os.getpid()}.txt"
        WORK.mkdir(parents=True, exist_ok=True)
        argv = ["/usr/bin/time", "-v", "-o", str(timefile), *argv]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rss = None
    if timefile is not None and timefile.exists():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timefile.read_text())
        rss = int(m.group(1)) / 1024 if m else None
        timefile.unlink()
    result = Run(list(cmd), wall, rss, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return result


def best_of(n: int, cmd: Sequence[str], **kwargs: object) -> tuple[Run, list[float]]:
    """Run ``n`` times; return the fastest run and all wall times (the minimum is the least noisy
    statistic on a shared machine)."""
    runs = [run(cmd, **kwargs) for _ in range(n)]  # type: ignore[arg-type]
    fastest = min(runs, key=lambda r: r.wall_s)
    return fastest, [r.wall_s for r in runs]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def machine() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        import psutil

        mem_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    load = _LOAD_AT_START
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": mem_gb,
        "python": platform.python_version(),
        "os": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


@dataclass
class Report:
    name: str
    command: str
    figures: dict[str, object] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["command"] = self.command.replace(str(REPO) + "/", "")
        data["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        data["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        data["machine"] = machine()
        path = RESULTS / f"{self.name}.json"
        path.write_text(json.dumps(data, indent=2, default=str))
        return path

    def print(self) -> None:
        print(f"\n== {self.name}: {self.command}")
        for k, v in self.figures.items():
            print(f"  {k:<38} {v}")
        for k, v in self.ratios.items():
            print(f"  ratio {k:<32} {v:.3f}")
        for k, v in self.targets.items():
            print(f"  target {k:<31} {v}")
        for n in self.notes:
            print(f"  note: {n}")
        print(f"  saved {self.save()}")


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
