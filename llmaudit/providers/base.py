"""The types every adapter shares: a chat request in, a completion (or a classified error) out.

Vendor field names end here: a completion's ``Usage`` (``llmaudit.usage``, the type pricing bills)
is already in llmaudit's schema semantics (``input_tokens`` counts cached tokens too,
``output_tokens`` counts reasoning too; DESIGN §4.3), whatever dialect produced it.

An adapter makes ONE attempt. Failures are raised as ``ProviderCallError`` with a ``kind`` the
replay runner uses to decide whether (and when) to retry, and, for the two failures no retry can
fix, a ``cause``: ``unreachable`` (the provider refused the connection or its name did not
resolve) or ``model_not_found`` (the provider answered that the model does not exist). The runner's
circuit breaker stops sending to that provider or model on them.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from llmaudit.errors import LlmauditError, redact
from llmaudit.usage import Usage

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ERROR_KINDS",
    "Adapter",
    "Cause",
    "ChatRequest",
    "Completion",
    "ErrorKind",
    "HttpAdapter",
    "ProviderCallError",
    "error_for_status",
    "parse_retry_after",
]

ErrorKind = Literal["rate_limited", "server", "timeout", "broken_stream", "client", "auth", "malformed"]
ERROR_KINDS: tuple[ErrorKind, ...] = (
    "rate_limited",
    "server",
    "timeout",
    "broken_stream",
    "client",
    "auth",
    "malformed",
)
# What a failure says beyond this one request: the provider cannot be reached at all, or the
# model does not exist there. The runner stops sending to that provider or model (its breaker).
Cause = Literal["unreachable", "model_not_found"]
# Worth another attempt: the same request may well succeed later. client/auth/malformed will not.
_RETRYABLE = frozenset({"rate_limited", "server", "timeout", "broken_stream"})


@dataclass(frozen=True)
class ChatRequest:
    """One chat call. ``model`` is the provider-native name (``gpt-4o-mini``, not ``openai/gpt-4o-mini``).

    ``extra`` is merged into the request body as-is (vendor parameters such as ``top_p`` or
    ``reasoning_effort``). ``meta`` is llmaudit's own knowledge about the prompt (``prompt_id``,
    ``category``, ``expected``, ``assert``, ``repeat``): it is never part of the request. It rides
    with it as an httpx request extension (``exchange.META_EXTENSION``) that only an in-process
    transport reads: the simulator answers from it.
    """

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    """A successful call. ``usage`` is None when the server reported none: count locally and mark
    the row ``usage_source=estimated``. Times are milliseconds from sending the request; ``ttft_ms``
    (first text token) is None for a non-streamed call. ``chunk_us`` holds, for a streamed call,
    the arrival of every token-carrying event in microseconds from sending (see ``exchange``)."""

    text: str
    usage: Usage | None
    ttft_ms: float | None
    latency_ms: float
    request_id: str | None = None
    model_reported: str | None = None
    status_code: int = 200
    finish_reason: str | None = None
    chunk_us: tuple[int, ...] | None = None

    def output_tokens_per_second(self, output_tokens: int | None = None) -> float | None:
        """Generation speed after the first token; pass ``output_tokens`` when counted locally."""
        tokens = output_tokens if output_tokens is not None else (self.usage.output_tokens if self.usage else None)
        if tokens is None or self.ttft_ms is None:
            return None
        gen_ms = self.latency_ms - self.ttft_ms
        if gen_ms <= 0 or tokens <= 1:
            return None
        # The first token arrived at ttft: the remaining tokens were produced in gen_ms.
        return (tokens - 1) / (gen_ms / 1000.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the response cache stores this)."""
        data = asdict(self)
        # A cached answer's timing is never reported (fetching it measures nothing): not stored.
        data.pop("chunk_us", None)
        if self.usage is not None:
            # A completion is one request: the count is not stored (the stored form predates it).
            del data["usage"]["requests"]
            if self.usage.cost_reported is not None:
                data["usage"]["cost_reported"] = str(self.usage.cost_reported)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        fields = dict(data)
        usage = fields.get("usage")
        if usage is not None:
            usage = dict(usage)
            if usage.get("cost_reported") is not None:
                usage["cost_reported"] = Decimal(str(usage["cost_reported"]))
            fields["usage"] = Usage(**usage)
        return cls(**fields)


class ProviderCallError(LlmauditError):
    """One failed attempt. ``kind`` is one of ``ERROR_KINDS``; ``retry_after`` is in seconds.

    The message is redacted (``LlmauditError`` scrubs anything key-shaped) and never carries
    request headers.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        cause: Cause | None = None,
    ) -> None:
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after = retry_after
        self.cause: Cause | None = cause
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return self.kind in _RETRYABLE

    def __repr__(self) -> str:
        return f"ProviderCallError({self.kind!r}, {self.message!r}, status={self.status})"


class Adapter(Protocol):
    """What the replay runner talks to. One instance per provider (not per model)."""

    @property
    def provider(self) -> str:
        """The provider name as written in ``provider/model`` (``openai``, ``openrouter``, ``sim``)."""
        ...

    def body(self, req: ChatRequest) -> dict[str, Any]:
        """The JSON body this adapter would send (pure; the response cache keys on it)."""
        ...

    async def complete(self, req: ChatRequest, client: httpx.AsyncClient) -> Completion:
        """Make one attempt; raise ``ProviderCallError`` on failure."""
        ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN guard
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(when.timestamp() - current, 0.0)


def error_for_status(
    status: int,
    body_text: str,
    headers: Mapping[str, str] | None = None,
    *,
    provider: str = "",
) -> ProviderCallError:
    """Classify a non-2xx HTTP answer."""
    headers = headers or {}
    # Redact before cutting: a key that straddles the cut would no longer match a key pattern.
    snippet = redact(" ".join(body_text.split()))[:300]
    prefix = f"{provider}: " if provider else ""
    message = f"{prefix}HTTP {status}" + (f": {snippet}" if snippet else "")
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429:
        return ProviderCallError("rate_limited", message, status=status, retry_after=retry_after)
    # Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID rather than 401.
    if status in (401, 403) or (status == 400 and "API_KEY_INVALID" in body_text):
        return ProviderCallError("auth", message, status=status)
    if status == 408:
        return ProviderCallError("timeout", message, status=status, retry_after=retry_after)
    # Anthropic's "overloaded" is 529; any 5xx is the server's problem and worth a retry.
    if status >= 500:
        return ProviderCallError("server", message, status=status, retry_after=retry_after)
    cause: Cause | None = "model_not_found" if names_missing_model(status, body_text) else None
    return ProviderCallError("client", message, status=status, cause=cause)


# How the APIs say "no such model" (HTTP 404; 400 on OpenRouter and LiteLLM):
#   OpenAI     404 {"error": {"code": "model_not_found", "message": "The model `x` does not exist or you ..."}}
#   Anthropic  404 {"type": "error", "error": {"type": "not_found_error", "message": "model: x"}}
#   Gemini     404 {"error": {"code": 404, "status": "NOT_FOUND", "message": "models/x is not found for API ..."}}
#   OpenRouter 400 {"error": {"code": 400, "message": "x is not a valid model ID"}}
#   vLLM       404 {"object": "error", "type": "NotFoundError", "message": "The model `x` does not exist."}
#   Ollama     404 {"error": {"message": "model \"x\" not found, try pulling it first"}}
#   LiteLLM    400 {"error": {"message": "... Invalid model name passed in model=x ..."}}
# A not-found code alone counts only with a 404 (a 400 "not found" may be about anything else);
# a bare 404 (a wrong path, an HTML page) is not taken for a missing model.
_MODEL_CODES = frozenset({"model_not_found"})
_NOT_FOUND_CODES = frozenset({"not_found_error", "notfounderror", "not_found"})
_MODEL_WORDS = re.compile(
    r"\bmodels?\b.{0,120}?\b(?:not found|does not exist|doesn't exist|not a valid model)"
    r"|\b(?:invalid|unknown|no such) model\b|\bnot a valid model\b",
    re.IGNORECASE,
)


def names_missing_model(status: int, body_text: str) -> bool:
    """True when an HTTP 400/404 answer says the requested model does not exist (see above)."""
    if status not in (400, 404):
        return False
    codes, message = _error_fields(body_text)
    if codes & _MODEL_CODES or (status == 404 and codes & _NOT_FOUND_CODES):
        return True
    return bool(_MODEL_WORDS.search(message))


def _error_fields(body_text: str) -> tuple[set[str], str]:
    """The code/type/status strings (lower case) and the message of an error body; a body that is
    not JSON is all message."""
    try:
        data = json.loads(body_text)
    except ValueError:
        return set(), body_text
    if not isinstance(data, dict):
        return set(), body_text
    inner = data.get("error")
    err = inner if isinstance(inner, dict) else data
    codes = {str(err.get(k)).lower() for k in ("code", "type", "status") if isinstance(err.get(k), str)}
    message = err.get("message")
    if message is None and isinstance(inner, str):
        message = inner
    return codes, str(message) if message is not None else ""


# No request comes near this many tokens (the longest context windows are ~10M): a larger count is
# a server's junk, and 1e30 once made a replay spend "$150,000,000,000,000,002,982,693" and crash.
MAX_TOKENS_PER_REQUEST = 100_000_000


def token_count(value: Any, field: str = "usage") -> int:
    """A usage field as a token count. Absent (null) is 0; anything else that is not a whole,
    non-negative, plausible number ("100", 1.5, -5, [1], true, 1e30, NaN) is a malformed answer, so
    the request becomes an error row with the reason instead of a made-up count."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderCallError("malformed", f"the server reported {field} = {value!r}: not a token count")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ProviderCallError("malformed", f"the server reported {field} = {value!r}: not a whole token count")
    count = int(value)
    if not 0 <= count <= MAX_TOKENS_PER_REQUEST:
        raise ProviderCallError("malformed", f"the server reported {field} = {value!r}: not a plausible token count")
    return count


def usage_count(usage: Mapping[str, Any], field: str, *, required: bool = False) -> int:
    """``token_count`` of ``usage[field]``, named in the error. A ``required`` count (prompt and
    completion totals) sent as an explicit null is malformed too; absent, it is 0."""
    if required and field in usage and usage[field] is None:
        raise ProviderCallError("malformed", f"the server reported {field} = null: not a token count")
    return token_count(usage.get(field), field)


class HttpAdapter:
    """What every dialect's adapter shares: the provider name, where it posts, the key and extra
    headers. The key stays private: ``repr`` and error messages never show it."""

    def __init__(self, provider: str, base_url: str, api_key: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        self._provider = provider
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.extra_headers = dict(headers or {})

    @property
    def provider(self) -> str:
        return self._provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._provider!r}, {self.base_url!r})"
