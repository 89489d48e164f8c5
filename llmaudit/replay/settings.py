"""Replay settings from flags over the config file's ``[replay]`` section, validated.

```toml
[replay]
concurrency = 8
rpm = 600
timeout = 180            # seconds per attempt
max_attempts = 5
provider_concurrency = {openai = 4}
provider_rpm = {anthropic = 50}
```
A flag given on the command line wins over the file; a bad value in the file is a ``ConfigError``
naming the key, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

from llmaudit.config import Config
from llmaudit.errors import ConfigError, UsageError
from llmaudit.replay.limits import RetryPolicy
from llmaudit.replay.runner import ReplayOptions

__all__ = ["options_from_config"]

_KEYS = {"concurrency", "rpm", "timeout", "max_attempts", "provider_concurrency", "provider_rpm"}


def _number(value: Any, where: str, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{where} must be {kind}, got {value!r}")
    return value  # type: ignore[no-any-return]


def _table(value: Any, where: str, *, integer: bool) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table like {{openai = 4}}")
    return {str(k).lower(): _number(v, f"{where}.{k}", integer=integer) for k, v in value.items()}


def options_from_config(config: Config, **flags: Any) -> ReplayOptions:
    """``ReplayOptions`` from ``[replay]`` overlaid by the flags that were given (None = not given).

    Flags: concurrency, provider_concurrency (dict), rpm, provider_rpm (dict), timeout_s,
    max_attempts, and any other ``ReplayOptions`` field passed through as is.
    """
    section = config.section("replay")
    where = f"{config.path or 'config'}: [replay]"
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    concurrency = flags.pop("concurrency", None)
    rpm = flags.pop("rpm", None)
    timeout_s = flags.pop("timeout_s", None)
    max_attempts = flags.pop("max_attempts", None)
    for name, value in (("--concurrency", concurrency), ("--max-attempts", max_attempts)):
        if value is not None and value < 1:
            raise UsageError(f"{name} must be at least 1")
    for name, value in (("--rpm", rpm), ("--timeout", timeout_s)):
        # NaN compares false with everything, so "nan" passed a `<= 0` check and then never timed out.
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name} must be a positive number, got {value}")
    file_pc = _table(section.get("provider_concurrency", {}), f"{where} provider_concurrency", integer=True)
    file_rpm = _table(section.get("provider_rpm", {}), f"{where} provider_rpm", integer=False)
    return ReplayOptions(
        concurrency=int(concurrency or _number(section.get("concurrency", 8), f"{where} concurrency", integer=True)),
        provider_concurrency={k: int(v) for k, v in {**file_pc, **flags.pop("provider_concurrency", {})}.items()},
        rpm=rpm if rpm is not None else (_number(section["rpm"], f"{where} rpm") if "rpm" in section else None),
        provider_rpm={**file_rpm, **flags.pop("provider_rpm", {})},
        timeout_s=float(timeout_s or _number(section.get("timeout", 180), f"{where} timeout")),
        retry=RetryPolicy(
            max_attempts=int(max_attempts or _number(section.get("max_attempts", 5), f"{where} max_attempts",
                                                     integer=True))
        ),
        config=config,
        **flags,
    )
