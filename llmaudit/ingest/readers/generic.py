"""Any CSV or JSONL with a column mapping: ``--map input_tokens=prompt_toks,output_tokens=out,...``.

The mapping names, for schema columns, the source column (CSV header name) or key (JSONL; dotted
paths such as ``usage.prompt_tokens`` reach into objects). Required: ``timestamp``, ``model``,
``input_tokens``, ``output_tokens``. Values must already follow the schema's semantics:
``input_tokens`` counts ALL prompt tokens (cached included), ``output_tokens`` ALL completion
tokens (reasoning included). ``provider`` defaults to a guess from the model name; ``requests``
to 1. ``tags`` may be a list, a JSON list, or a comma-separated string. ``service_tier``,
``speed``, ``inference_geo`` and ``context_tier`` may be mapped too (spelled as the schema says:
``default`` → ``standard``, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from llmaudit.errors import InputError, UsageError
from llmaudit.ingest.envelope import norm_tags, safe_key_label
from llmaudit.ingest.lines import csv_header, read_csv_rows, read_json_records
from llmaudit.ingest.rows import (
    TOKEN_FIELDS,
    RowError,
    get_path,
    guess_provider,
    opt_float,
    opt_int,
    opt_str,
    parse_bool,
    parse_timestamp,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import MODIFIER_COLUMNS

__all__ = ["MAPPABLE", "REQUIRED_MAPPING", "check_mapping", "read", "sniff"]

REQUIRED_MAPPING = ("timestamp", "model", "input_tokens", "output_tokens")
_INTS = (*TOKEN_FIELDS, "requests", "web_search_requests")
_FLOATS = ("billed_cost_usd", "latency_ms", "ttft_ms")
_STRS = ("provider", "request_id", "status", "user", "project")
MAPPABLE = (*REQUIRED_MAPPING[:2], *_INTS, *_FLOATS, *_STRS, "api_key", "tags", "batch", *MODIFIER_COLUMNS)


def check_mapping(mapping: dict[str, str]) -> None:
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise UsageError(f"--map: unknown column(s) {', '.join(unknown)}; mappable: {', '.join(MAPPABLE)}")
    missing = [c for c in REQUIRED_MAPPING if c not in mapping]
    if missing:
        raise UsageError(f"--map must name a source column for: {', '.join(missing)}")


def sniff(head: bytes, path: str) -> bool:
    return False   # chosen only when a mapping is given


def _lookup(rec: dict[str, Any], key: str) -> Any:
    if key in rec:
        return rec[key]
    return get_path(rec, *key.split(".")) if "." in key else None


def _make_normalize(mapping: dict[str, str]) -> Any:
    def normalize(rec: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any]:
        def val(target: str) -> Any:
            src = mapping.get(target)
            return _lookup(rec, src) if src is not None else None

        model = opt_str(val("model"))
        if model is None:
            raise RowError(f"model ({mapping['model']}) is empty")
        row: dict[str, Any] = {"model_raw": model}
        row["timestamp"] = parse_timestamp(val("timestamp"), f"timestamp ({mapping['timestamp']})")
        for name in _INTS:
            if name in mapping:
                row[name] = opt_int(val(name), f"{name} ({mapping[name]})")
        if row.get("input_tokens") is None and row.get("output_tokens") is None:
            raise RowError(f"no token counts ({mapping['input_tokens']} and {mapping['output_tokens']} are empty)")
        for name in _FLOATS:
            if name in mapping:
                row[name] = opt_float(val(name), f"{name} ({mapping[name]})")
        for name in _STRS:
            if name in mapping:
                row[name] = opt_str(val(name))
        if "api_key" in mapping:
            row["api_key"] = safe_key_label(val("api_key"))
        if "batch" in mapping:
            row["batch"] = parse_bool(val("batch"))
        for name in MODIFIER_COLUMNS:   # spelled by finish_table
            if name in mapping:
                row[name] = opt_str(val(name))
        if "tags" in mapping:
            tags = val("tags")
            if isinstance(tags, str) and tags.startswith("["):
                try:
                    tags = orjson.loads(tags)
                except orjson.JSONDecodeError:
                    pass
            row["tags"] = norm_tags(tags)
        row["provider"] = row.get("provider") or guess_provider(model, "unknown")
        if row.get("requests") is None:
            row["requests"] = 1
        return row

    return normalize


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    mapping = ctx.mapping
    check_mapping(mapping)
    normalize = _make_normalize(mapping)
    header = csv_header(source.head)
    if header:
        absent = sorted({src for src in mapping.values() if src not in header})
        if absent:
            raise InputError(f"--map names column(s) not in the CSV header: {', '.join(absent)}", path=ctx.path)
        yield from read_csv_rows(source, ctx, normalize)
    else:
        yield from read_json_records(source, ctx, normalize)
