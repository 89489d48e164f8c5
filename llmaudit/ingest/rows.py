"""Row-level building blocks shared by the readers: field coercion, validation, row → Arrow.

A reader's per-record function turns one vendor record into a plain ``dict`` keyed by
``USAGE_SCHEMA`` column names, raising ``RowError`` with a message the user can act on when the
record is unusable. ``check_row`` enforces the token invariants of ``llmaudit.schema`` so a bad
row is rejected (and counted) at the reader instead of failing the whole table later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from llmaudit.schema import (
    TOKEN_COLUMNS,
    USAGE_SCHEMA,
    normalize_context_tier,
    normalize_inference_geo,
    normalize_service_tier,
    normalize_speed,
)

__all__ = [
    "COUNT_FIELDS",
    "INVARIANTS",
    "MAX_COUNT",
    "ROW_SCHEMA",
    "SHAPE_ERRORS",
    "TOKEN_FIELDS",
    "RowError",
    "check_row",
    "fill_default",
    "finish_table",
    "get_path",
    "guess_provider",
    "opt_float",
    "opt_int",
    "opt_str",
    "parse_bool",
    "parse_timestamp",
    "req_int",
    "rows_to_table",
    "shape_reason",
    "violations",
]

# Columns a reader may fill; the rest (cost_usd, price_status) belong to pricing.
ROW_SCHEMA = pa.schema([f for f in USAGE_SCHEMA if f.name not in ("cost_usd", "price_status")])
TOKEN_FIELDS = TOKEN_COLUMNS
# Counts that can be neither negative nor above MAX_COUNT.
COUNT_FIELDS = (*TOKEN_COLUMNS, "requests", "web_search_requests")
# Token counts a source did not report did not happen: 0, not null.
_ZERO_DEFAULTS = TOKEN_COLUMNS


class RowError(ValueError):
    """One record cannot be used; the message says why (it becomes the reject reason)."""


# What a reader's per-record code may raise on a record of an unexpected shape (a list where an
# object belongs, ...), or on one nested deeper than Python recurses. Callers turn these into rejects
# too: bad input never becomes a traceback.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError, RecursionError)


def shape_reason(exc: BaseException) -> str:
    if isinstance(exc, RowError):
        return str(exc)
    return f"unexpected record shape ({type(exc).__name__}: {exc})"


def get_path(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]…`` or None when any step is missing or not an object."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def opt_int(value: Any, name: str) -> int | None:
    """An optional non-negative integer count: None/"" → None; 12, 12.0, "12" → 12."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(f"{name} is a boolean ({value}), expected an integer")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise RowError(f"{name} is {_describe(value)}, expected a whole number")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise RowError(f"{name} is {_describe(value)}, expected an integer") from None
            if not math.isfinite(as_float) or as_float != int(as_float):
                raise RowError(f"{name} is {_describe(value)}, expected a whole number") from None
            result = int(as_float)
    else:
        raise RowError(f"{name} is {type(value).__name__} {_describe(value)}, expected an integer")
    if result < 0:
        raise RowError(f"{name} is negative ({result})")
    if result > MAX_COUNT:
        raise RowError(f"{name} is implausibly large ({result})")
    return result


# A trillion tokens in one row (even a day's bucket for a whole organisation is far below). The
# bound keeps every sum within int64: a table holds at most 2**20 rows (a batch, a 32 MiB chunk of
# lines), and a sum of four count columns over one stays below 2**62; sums across tables are
# Python integers.
MAX_COUNT = 2**40


def req_int(value: Any, name: str) -> int:
    result = opt_int(value, name)
    if result is None:
        raise RowError(f"{name} is missing")
    return result


def opt_float(value: Any, name: str) -> float | None:
    """An optional number (latency, cost): None/"" → None; strings are parsed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(f"{name} is a boolean ({value}), expected a number")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise RowError(f"{name} is {_describe(value)}, expected a number") from None
    else:
        raise RowError(f"{name} is {type(value).__name__} {_describe(value)}, expected a number")
    if not math.isfinite(result):
        raise RowError(f"{name} is {_describe(value)}, expected a finite number")
    return result


def opt_decimal(value: Any, name: str) -> Decimal | None:
    """Money as an exact Decimal (strings stay exact; floats via their repr)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(f"{name} is a boolean ({value}), expected an amount")
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(repr(value))
    except (InvalidOperation, TypeError, AttributeError):
        raise RowError(f"{name} is {_describe(value)}, expected an amount") from None
    if not result.is_finite():
        raise RowError(f"{name} is {_describe(value)}, expected a finite amount")
    return result


def opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    return str(value)


def parse_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t"):
        return True
    if text in ("false", "0", "no", "f", "none", "null"):
        return False
    return None


_EPOCH_MS_LIMIT = 10**11  # unix seconds stay below this until the year 5138
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timestamp(value: Any, name: str = "timestamp") -> datetime:
    """ISO 8601 (with or without zone; naive means UTC), or unix seconds/milliseconds → aware UTC."""
    if value is None or value == "":
        raise RowError(f"{name} is missing")
    if isinstance(value, bool):
        raise RowError(f"{name} is a boolean, expected a date-time")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise RowError(f"{name} is {_describe(value)}, expected a date-time")
        if seconds >= _EPOCH_MS_LIMIT:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RowError(f"{name} is {_describe(value)}, out of range") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return parse_timestamp(float(text), name)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RowError(f"{name} is {_describe(value)}, not an ISO 8601 date-time") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise RowError(f"{name} is {type(value).__name__} {_describe(value)}, expected a date-time")


# OpenRouter names every generation ``gen-<unix seconds>-<id>`` (formats.md §C1, §A5): a response
# with such an id went through OpenRouter, which served and billed it, whatever vendor its
# ``vendor/model`` names. Without this the row would be priced at the vendor's direct price.
OPENROUTER_GENERATION_ID = r"^gen-[0-9]+-"
_OPENROUTER_ID = re.compile(OPENROUTER_GENERATION_ID)


def response_provider(response_id: Any, model: str | None) -> str | None:
    """The provider a response was billed by: OpenRouter for its generation ids, else the model's guess."""
    if isinstance(response_id, str) and _OPENROUTER_ID.match(response_id):
        return "openrouter"
    return guess_provider(model, "openai")


# Model-name prefixes and families → provider, for sources that do not say (pricing canonicalizes
# later; this is only the best guess the issue asks for).
_PREFIX_PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "google": "google", "gemini": "google",
    "vertex_ai": "google", "google-vertex": "google", "mistralai": "mistral", "mistral": "mistral",
    "meta-llama": "meta", "deepseek": "deepseek", "x-ai": "xai", "xai": "xai", "cohere": "cohere",
    "qwen": "qwen", "bedrock": "bedrock", "azure": "azure", "groq": "groq", "together_ai": "together",
    "openrouter": "openrouter", "fireworks_ai": "fireworks", "ollama": "ollama",
}
# Leading path segments that are not vendors (Gemini's models/…, Fireworks' accounts/…/models/…).
_PATH_PREFIXES = frozenset({"models", "accounts", "projects", "tunedmodels", "publishers"})
_FAMILY_PROVIDERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "davinci", "babbage", "ft:gpt",
      "codex", "computer-use"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "gemma", "models/gemini"), "google"),
    (("mistral", "mixtral", "codestral", "magistral", "ministral"), "mistral"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("llama", "meta-llama"), "meta"),
    (("command",), "cohere"),
)


def guess_provider(model: str | None, default: str | None = None) -> str | None:
    """Provider named by a ``vendor/model`` prefix, else by the model family, else ``default``."""
    if not model:
        return default
    name = model.lower()
    if "/" in name:
        prefix = name.split("/", 1)[0]
        if prefix in _PREFIX_PROVIDERS:
            return _PREFIX_PROVIDERS[prefix]
    for geo in ("us.", "eu.", "apac.", "global.", "jp.", "au."):
        if name.startswith(geo + "anthropic."):
            return "anthropic"
    if name.startswith("anthropic."):
        return "anthropic"
    bare = name.rsplit("/", 1)[-1]
    for prefixes, provider in _FAMILY_PROVIDERS:
        if bare.startswith(prefixes):
            return provider
    if "/" in name and name.split("/", 1)[0] not in _PATH_PREFIXES:
        # A gateway's "vendor/model" names its vendor even when we do not know it ("acme/chat-7b"):
        # better than charging it to the gateway's default provider.
        return name.split("/", 1)[0]
    return default


# The rules every row obeys whatever its source, declared once: ``check_row`` applies them to a
# row dict (the first broken one is the reject reason), ``violations`` to columns (the vectorized
# readers redo the rows it marks line by line, which gives the reason). (parts, whole, reason):
# the parts (absent = 0) must not add up to more than the whole.
INVARIANTS: tuple[tuple[tuple[str, ...], str, Callable[[dict[str, Any]], str]], ...] = (
    (("cache_read_tokens", "cache_write_tokens"), "input_tokens",
     lambda r: f"cache tokens ({r.get('cache_read_tokens') or 0} read + {r.get('cache_write_tokens') or 0} written)"
               f" exceed input tokens ({r.get('input_tokens') or 0})"),
    (("cache_write_1h_tokens",), "cache_write_tokens", lambda r: "1-hour cache writes exceed cache writes"),
    (("reasoning_tokens",), "output_tokens",
     lambda r: f"reasoning tokens ({r.get('reasoning_tokens')}) exceed output tokens ({r.get('output_tokens')})"),
)


def check_row(row: dict[str, Any]) -> None:
    """Reject a normalized row that breaks the schema's invariants (message names the field)."""
    model = row.get("model_raw")
    if not model or not isinstance(model, str):
        raise RowError("model is missing")
    if row.get("timestamp") is None:
        raise RowError("timestamp is missing")
    ts = row["timestamp"]
    if isinstance(ts, datetime) and ts.tzinfo is not None and ts < _EPOCH:
        raise RowError(f"timestamp is before 1970 ({ts.isoformat()})")
    for name in COUNT_FIELDS:
        value = row.get(name)
        if value is not None and value < 0:
            raise RowError(f"{name} is negative ({value})")
        if value is not None and value > MAX_COUNT:
            raise RowError(f"{name} is implausibly large ({value})")
    for parts, whole, reason in INVARIANTS:
        if sum(row.get(p) or 0 for p in parts) > (row.get(whole) or 0):
            raise RowError(reason(row))
    cost = row.get("billed_cost_usd")
    if cost is not None and not math.isfinite(cost):
        raise RowError(f"billed cost is {cost}, expected a finite amount")
    if cost is not None and cost < 0:
        raise RowError(f"billed cost is negative ({cost})")


def violations(columns: Mapping[str, Any], n: int) -> Any:
    """``check_row`` over columns (``n`` rows; an absent column is null): a boolean array, true
    where a row breaks a rule (never null)."""
    import pyarrow.compute as pc

    def col(name: str) -> Any:
        return columns.get(name)

    def zero(name: str) -> Any:
        c = col(name)
        return None if c is None else fill_default(c, 0)

    model = col("model_raw")
    bad = pa.repeat(pa.scalar(True), n) if model is None else pc.or_kleene(pc.is_null(model), pc.equal(model, ""))
    timestamp = col("timestamp")
    bad = pc.or_kleene(bad, pc.is_null(timestamp) if timestamp is not None else pa.repeat(pa.scalar(True), n))
    for name in TOKEN_FIELDS:
        if col(name) is not None:
            bad = pc.or_kleene(bad, pc.fill_null(pc.less(col(name), 0), False))
    for parts, whole, _ in INVARIANTS:
        present = [zero(p) for p in parts if col(p) is not None]
        if not present:
            continue
        total = present[0]
        for other in present[1:]:
            total = pc.add(total, other)
        limit = zero(whole) if col(whole) is not None else pa.repeat(pa.scalar(0, pa.int64()), n)
        bad = pc.or_kleene(bad, pc.greater(total, limit))
    cost = col("billed_cost_usd")
    if cost is not None:
        bad = pc.or_kleene(bad, pc.fill_null(pc.less(cost, 0), False))
    return pc.fill_null(bad, True)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Plain row dicts (ROW_SCHEMA names, missing keys = null) → an Arrow table."""
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


def fill_default(col: pa.Array | pa.ChunkedArray, value: Any) -> pa.Array | pa.ChunkedArray:
    """``col`` with nulls replaced by ``value``; the common no-null and all-null columns skip the kernel."""
    nulls = col.null_count
    if not nulls:
        return col
    if nulls == len(col):
        return pa.repeat(pa.scalar(value, col.type), len(col))
    import pyarrow.compute as pc

    return pc.fill_null(col, value)


_SPELLINGS = {
    "service_tier": normalize_service_tier,
    "speed": normalize_speed,
    "inference_geo": normalize_inference_geo,
    "context_tier": normalize_context_tier,
}


def _spell(col: pa.Array | pa.ChunkedArray, fn: Any) -> pa.Array | pa.ChunkedArray:
    """``fn`` applied once per distinct value (modifiers: a handful of values over many rows)."""
    if col.null_count == len(col):
        return col
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    encoded = arr.dictionary_encode()
    values = encoded.dictionary.to_pylist()
    spelled = [fn(v) for v in values]
    if spelled == values:
        return col
    import pyarrow.compute as pc

    return pc.take(pa.array(spelled, pa.string()), encoded.indices)


def _modifiers(columns: dict[str, pa.Array | pa.ChunkedArray]) -> None:
    """Spell the modifier columns one way, and keep batch and ``service_tier`` in agreement:
    a batch row is served at tier ``batch``, and a row the source served at tier ``batch`` is a
    batch row (``batch`` stays for the readers and reports that read only it)."""
    import pyarrow.compute as pc

    for name, fn in _SPELLINGS.items():
        columns[name] = _spell(columns[name], fn)
    tier, batch = columns["service_tier"], columns["batch"]
    if tier.null_count < len(tier):
        batch = pc.or_(batch, pc.fill_null(pc.equal(tier, "batch"), False))
    if pc.any(batch).as_py():
        columns["batch"] = batch
        columns["service_tier"] = pc.if_else(batch, pa.scalar("batch", pa.string()), tier)


def finish_table(table: pa.Table, *, source_format: str, source_file: str) -> pa.Table:
    """Fill the columns every ingested row shares and conform to ``USAGE_SCHEMA``.

    Token counts a source did not report are 0 (they did not happen); ``requests`` defaults to 1
    only where a reader left it null for a per-request log; cost is left to pricing. Modifier
    columns are spelled by ``llmaudit.schema``'s rules, whatever the reader handed over.
    """
    import pyarrow.compute as pc

    n = table.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for field in USAGE_SCHEMA:
        name = field.name
        col = table.column(name) if name in table.column_names else pa.nulls(n, field.type)
        if col.type != field.type:
            col = col.cast(field.type)
        if name in _ZERO_DEFAULTS:
            col = fill_default(col, 0)
        elif name in ("batch", "usage_estimated"):
            col = fill_default(col, False)
        elif name == "price_status":
            col = pa.repeat(pa.scalar("unpriced", pa.string()), n)
        elif name == "source_format":
            col = pa.repeat(pa.scalar(source_format, pa.string()), n)
        elif name == "source_file":
            col = pc.fill_null(col, source_file) if col.null_count else col
        elif name == "model":
            col = pc.coalesce(col, table.column("model_raw")) if "model_raw" in table.column_names else col
        columns[name] = col
    _modifiers(columns)
    return pa.Table.from_pydict(columns, schema=USAGE_SCHEMA)
