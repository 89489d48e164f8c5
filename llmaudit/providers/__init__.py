"""Provider adapters over httpx: one chat call in, a timed ``Completion`` (or a classified
``ProviderCallError``) out, for the OpenAI, Anthropic and Gemini dialects, every OpenAI-compatible
server, and the in-process ``sim`` provider. See ``registry`` for endpoints and keys.

Only this package imports httpx; importing it is cheap (the dialect modules load httpx lazily
through ``get_adapter``/``make_client``).
"""

from __future__ import annotations

from llmaudit.providers.base import (
    ERROR_KINDS,
    Adapter,
    ChatRequest,
    Completion,
    ErrorKind,
    ProviderCallError,
    parse_retry_after,
)
from llmaudit.providers.cache import ResponseCache, default_cache_path
from llmaudit.providers.lanes import ClientLanes
from llmaudit.providers.registry import (
    BUILTIN_PROVIDERS,
    ProviderSpec,
    base_url_env,
    get_adapter,
    is_simulated,
    make_client,
    make_lanes,
    provider_spec,
    split_model,
)
from llmaudit.providers.sim.profiles import SIM_MODELS

__all__ = [
    "BUILTIN_PROVIDERS",
    "ERROR_KINDS",
    "SIM_MODELS",
    "Adapter",
    "ChatRequest",
    "ClientLanes",
    "Completion",
    "ErrorKind",
    "ProviderCallError",
    "ProviderSpec",
    "ResponseCache",
    "base_url_env",
    "default_cache_path",
    "get_adapter",
    "is_simulated",
    "make_client",
    "make_lanes",
    "parse_retry_after",
    "provider_spec",
    "split_model",
]
