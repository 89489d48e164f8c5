"""The baseline file of ``llmaudit check``: a measurement written to JSON (versioned,
``"llmaudit_baseline": 1``) and read back with every problem named by file and field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from llmaudit.analysis.gate.measurement import ALL, BASELINE_VERSION, GroupMetrics, Measurement
from llmaudit.analysis.gate.paired import PromptRow, read_prompt_rows
from llmaudit.analysis.gate.statistics import Interval
from llmaudit.errors import BaselineError, UsageError

__all__ = ["read_baseline", "write_baseline"]


def write_baseline(measurement: Measurement, path: str | Path) -> None:
    """Write (or replace) the baseline JSON atomically."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    try:
        if p.parent != Path(""):
            p.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(measurement.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:
        raise UsageError(f"{p}: cannot write baseline: {exc.strerror}") from None


def read_baseline(path: str | Path) -> Measurement:
    """Parse a baseline JSON; every problem is a ``BaselineError`` naming the file and the field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"{p}: baseline not found; create it with the same command plus --write-baseline and commit it"
        ) from None
    except IsADirectoryError:
        raise BaselineError(f"{p}: is a directory, expected a baseline JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{p}: cannot read baseline: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{p}:{exc.lineno}: corrupt baseline: invalid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    reader = _BaselineReader(str(p))
    return reader.measurement(data)


class _BaselineReader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, what: str) -> BaselineError:
        return BaselineError(f"{self.path}: corrupt baseline: {where}: {what}")

    def measurement(self, data: Any) -> Measurement:
        if not isinstance(data, dict):
            raise self.fail("top level", "expected a JSON object")
        version = data.get("llmaudit_baseline")
        if version is None:
            raise BaselineError(f"{self.path}: not an llmaudit baseline (no \"llmaudit_baseline\" version key)")
        if version != BASELINE_VERSION:
            raise BaselineError(
                f"{self.path}: baseline format version {version!r} is not supported "
                f"(this llmaudit reads version {BASELINE_VERSION}); rewrite it with --write-baseline"
            )
        mode = data.get("mode")
        if mode not in ("estimate", "measured"):
            raise self.fail("mode", f"expected 'estimate' or 'measured', got {mode!r}")
        volume = data.get("volume", {})
        if not isinstance(volume, dict):
            raise self.fail("volume", "expected an object")
        requests = volume.get("requests_per_month")
        if requests is not None and (not isinstance(requests, int) or isinstance(requests, bool) or requests < 0):
            raise self.fail("volume.requests_per_month", "expected a non-negative integer")
        models = data.get("models")
        if not isinstance(models, dict) or not models:
            raise self.fail("models", "expected a non-empty object")
        groups: dict[tuple[str, str], GroupMetrics] = {}
        prompt_rows: dict[str, dict[str, PromptRow]] = {}
        for model, entry in models.items():
            where = f"models.{model}"
            if not isinstance(entry, dict) or not isinstance(entry.get("all"), dict):
                raise self.fail(where, "expected an object with 'all'")
            groups[(model, ALL)] = self.group(model, ALL, entry["all"], f"{where}.all")
            cats = entry.get("categories", {})
            if not isinstance(cats, dict):
                raise self.fail(f"{where}.categories", "expected an object")
            for cat, g in cats.items():
                groups[(model, cat)] = self.group(model, cat, g, f"{where}.categories.{cat}")
            if "prompts" in entry:  # optional: baselines written before paired tests lack it
                prompt_rows[model] = read_prompt_rows(entry["prompts"], lambda f, w, m=where: self.fail(f"{m}.{f}", w))
        catalog = data.get("catalog_as_of")
        return Measurement(
            mode=mode,
            source=str(data.get("source", "")),
            catalog_as_of=str(catalog) if catalog is not None else None,
            volume=requests,
            groups=groups,
            created_at=str(data.get("created_at", "")),
            llmaudit_version=str(data.get("llmaudit_version", "")),
            prompt_rows=prompt_rows,
        )

    def group(self, model: str, category: str, g: Any, where: str) -> GroupMetrics:
        if not isinstance(g, dict):
            raise self.fail(where, "expected an object")
        return GroupMetrics(
            model=model,
            category=category,
            requests=self.int(g, "requests", where),
            prompts=self.int(g, "prompts", where),
            errors=self.int(g, "errors", where),
            input_tokens=self.interval(g, "input_tokens_per_request", where),
            output_tokens=self.interval(g, "output_tokens_per_request", where),
            cost_per_request=self.interval(g, "cost_per_request_usd", where),
            unpriced=self.int(g, "unpriced_requests", where),
            price_status=str(g.get("price_status", "priced")),
            p95_latency_ms=self.interval(g, "p95_latency_ms", where),
            latency_n=self.int(g, "latency_n", where),
            pass_rate=self.interval(g, "pass_rate", where),
            passed=self.int(g, "passed", where),
            checked=self.int(g, "checked", where),
            input_exact=bool(g.get("input_tokens_exact", True)),
            output_assumed=bool(g.get("output_tokens_assumed", False)),
            noise_known=bool(g.get("repeat_noise_measured", False)),
            # Baselines written before goodput existed have none: unknown, not zero.
            goodput=self.interval(g, "goodput", where) if "goodput" in g else None,
            good=self.int(g, "good", where),
            slo_sent=self.int(g, "goodput_sent", where),
        )

    def int(self, g: dict[str, Any], key: str, where: str) -> int:
        value = g.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{where}.{key}", f"expected a non-negative integer, got {value!r}")
        return value

    def interval(self, g: dict[str, Any], key: str, where: str) -> Interval | None:
        if key not in g:
            raise self.fail(f"{where}.{key}", "missing")
        value = g[key]
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}", "expected an object {value, lo, hi} or null")
        parts: dict[str, float | None] = {}
        for part in ("value", "lo", "hi"):
            v = value.get(part)
            if v is None and part != "value":
                parts[part] = None
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise self.fail(f"{where}.{key}.{part}", f"expected a number, got {v!r}")
            parts[part] = float(v)
        return Interval(parts["value"] or 0.0, parts["lo"], parts["hi"])
