"""Which providers exist, where they live, and which env var holds their key.

Built-in defaults cover the well-known endpoints; ``[providers.NAME]`` in the config file
overrides any field of a built-in or declares a new OpenAI-compatible server::

    [providers.mybox]
    type = "openai"                      # openai | anthropic | gemini
    base_url = "http://10.0.0.5:8000/v1"
    api_key_env = "MYBOX_API_KEY"        # omit for a server that needs no key

Base URL precedence (DESIGN §4.6): ``LLMAUDIT_<PROVIDER>_BASE_URL``, then the SDK convention
(``OPENAI_BASE_URL`` for openai, ``ANTHROPIC_BASE_URL`` for anthropic), then the config file,
then the built-in default. Keys come only from the environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from llmaudit.errors import MissingCredentialsError, ProviderError

if TYPE_CHECKING:
    import ssl

    import httpx

    from llmaudit.config import Config
    from llmaudit.providers.base import Adapter
    from llmaudit.providers.lanes import ClientLanes

__all__ = [
    "BUILTIN_PROVIDERS",
    "DIALECTS",
    "ProviderSpec",
    "base_url_env",
    "get_adapter",
    "is_simulated",
    "make_client",
    "make_lanes",
    "provider_spec",
    "split_model",
]

DIALECTS = ("openai", "anthropic", "gemini", "sim")


@dataclass(frozen=True)
class ProviderSpec:
    """How to reach one provider. ``key_required=False`` for local servers that take no key."""

    name: str
    type: str
    base_url: str
    api_key_env: str | None
    key_required: bool = True
    include_usage: bool = True  # send stream_options.include_usage (OpenAI dialect)
    max_tokens_field: str = "max_tokens"
    base_url_source: str = "built-in"


def _spec(name: str, type_: str, url: str, env: str | None, **kw: Any) -> ProviderSpec:
    return ProviderSpec(name, type_, url, env, **kw)


BUILTIN_PROVIDERS: dict[str, ProviderSpec] = {
    s.name: s
    for s in [
        # OpenAI's reasoning models reject max_tokens; max_completion_tokens works for all its models.
        _spec(
            "openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", max_tokens_field="max_completion_tokens"
        ),
        _spec("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
        _spec("google", "gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY"),
        # OpenRouter always returns usage (with cost) in the last chunk; include_usage is harmless.
        _spec("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        _spec("together", "openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        _spec("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        _spec("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        _spec("fireworks", "openai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        # Mistral rejects stream_options (422 extra_forbidden) and sends usage in its last chunk anyway.
        _spec("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", include_usage=False),
        _spec("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY"),
        # Local servers: a key is sent when the variable is set, never required.
        _spec("ollama", "openai", "http://localhost:11434/v1", "OLLAMA_API_KEY", key_required=False),
        _spec("llamacpp", "openai", "http://localhost:8080/v1", "LLAMACPP_API_KEY", key_required=False),
        _spec("vllm", "openai", "http://localhost:8000/v1", "VLLM_API_KEY", key_required=False),
        _spec("litellm", "openai", "http://localhost:4000/v1", "LITELLM_API_KEY", key_required=False),
        # In-process simulator (llmaudit.providers.sim); the .invalid host can never resolve.
        _spec("sim", "sim", "http://sim.llmaudit.invalid/v1", None, key_required=False),
    ]
}
_ALIASES = {"gemini": "google", "llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "x-ai": "xai"}
_SDK_BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}
# Gemini's key has two conventional names; the first that is set wins.
_KEY_FALLBACKS = {"GEMINI_API_KEY": ("GOOGLE_API_KEY",)}


def split_model(spec: str) -> tuple[str, str]:
    """``openrouter/anthropic/claude-sonnet-4-5`` → (``openrouter``, ``anthropic/claude-sonnet-4-5``)."""
    provider, sep, model = spec.strip().partition("/")
    if not sep or not provider or not model:
        raise ProviderError(f"model {spec!r} must be written provider/model, e.g. openai/gpt-4o-mini")
    return _ALIASES.get(provider.lower(), provider.lower()), model


def base_url_env(provider: str) -> str:
    """``LLMAUDIT_<PROVIDER>_BASE_URL`` with the name upper-cased and non-alphanumerics as ``_``."""
    return f"LLMAUDIT_{re.sub(r'[^A-Za-z0-9]', '_', provider).upper()}_BASE_URL"


def provider_spec(provider: str, config: Config | None = None) -> ProviderSpec:
    """The built-in spec, overlaid by ``[providers.NAME]``, with env base-URL overrides applied."""
    name = _ALIASES.get(provider.lower(), provider.lower())
    declared: dict[str, Any] = config.section("providers", name) if config is not None else {}
    where = f"{config.path or 'config'}: [providers.{name}]" if config is not None else ""
    spec = BUILTIN_PROVIDERS.get(name)
    if spec is None:
        if not declared:
            known = ", ".join(sorted(BUILTIN_PROVIDERS))
            raise ProviderError(
                f"unknown provider {provider!r}: built-in ones are {known}; declare others in the config "
                f'file as [providers.{name}] with type = "openai", base_url = ..., api_key_env = ...'
            )
        if not declared.get("base_url"):
            raise ProviderError(f"{where}: base_url is required for a provider llmaudit does not know")
        spec = ProviderSpec(name, "openai", "", None, key_required=False)
    if declared:
        spec = _overlay(spec, declared, where)
    return _with_env_base_url(spec)


def _overlay(spec: ProviderSpec, declared: dict[str, Any], where: str) -> ProviderSpec:
    allowed = {"type", "base_url", "api_key_env", "key_required", "include_usage", "max_tokens_field"}
    if "api_key" in declared:
        raise ProviderError(f"{where}: api_key is not allowed: keys are read from the environment; set api_key_env")
    unknown = sorted(set(declared) - allowed)
    if unknown:
        raise ProviderError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")
    changes: dict[str, Any] = {}
    for key in ("type", "base_url", "api_key_env", "max_tokens_field"):
        if key in declared:
            if not isinstance(declared[key], str) or not declared[key]:
                raise ProviderError(f"{where}: {key} must be a non-empty string")
            changes[key] = declared[key]
    for key in ("key_required", "include_usage"):
        if key in declared:
            if not isinstance(declared[key], bool):
                raise ProviderError(f"{where}: {key} must be true or false")
            changes[key] = declared[key]
    if changes.get("type", spec.type) not in DIALECTS:
        raise ProviderError(f"{where}: type must be one of {', '.join(DIALECTS[:3])}")
    if "api_key_env" in declared and spec.name not in BUILTIN_PROVIDERS and "key_required" not in declared:
        changes["key_required"] = True  # a custom provider that names a key variable needs it
    if "base_url" in declared:
        changes["base_url_source"] = "config"
    return replace(spec, **changes)


def _with_env_base_url(spec: ProviderSpec) -> ProviderSpec:
    for env in (base_url_env(spec.name), _SDK_BASE_URL_ENV.get(spec.name)):
        if env and os.environ.get(env):
            return replace(spec, base_url=os.environ[env], base_url_source=env)
    return spec


def _api_key(spec: ProviderSpec, *, require: bool = True) -> str | None:
    if spec.api_key_env is None:
        return None
    for env in (spec.api_key_env, *_KEY_FALLBACKS.get(spec.api_key_env, ())):
        value = os.environ.get(env, "").strip()
        if value:
            return value
    if spec.key_required and require:
        raise MissingCredentialsError(
            f"provider {spec.name!r} needs an API key: set {spec.api_key_env} in the environment "
            f"(keys are read from the environment only)"
        )
    return None


def get_adapter(provider: str, config: Config | None = None, *, require_key: bool = True) -> Adapter:
    """The adapter for ``provider``; raises ``MissingCredentialsError`` before any call is made.

    ``require_key=False`` builds it without a key for work that sends nothing (``--offline``
    answers from the cache, which is keyed on the request body the adapter builds)."""
    spec = provider_spec(provider, config)
    key = _api_key(spec, require=require_key)
    if spec.type in ("openai", "sim"):  # sim speaks OpenAI's dialect; only its transport differs (make_client)
        from llmaudit.providers.openai import OpenAIAdapter

        return OpenAIAdapter(
            spec.name,
            spec.base_url,
            key,
            include_usage=spec.include_usage,
            max_tokens_field=spec.max_tokens_field,
        )
    if spec.type == "anthropic":
        from llmaudit.providers.anthropic import AnthropicAdapter

        return AnthropicAdapter(spec.name, spec.base_url, key)
    from llmaudit.providers.gemini import GeminiAdapter

    return GeminiAdapter(spec.name, spec.base_url, key)


def is_simulated(provider: str, config: Config | None = None) -> bool:
    """True for the in-process simulator: everything built from its answers must say SIMULATED."""
    try:
        return provider_spec(provider, config).type == "sim"
    except ProviderError:
        return False


def make_client(
    provider: str = "",
    config: Config | None = None,
    *,
    timeout_s: float = 120.0,
    connect_timeout: float = 10.0,
    max_connections: int = 32,
    transport: httpx.AsyncBaseTransport | None = None,
    tls: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``provider``; the sim provider gets its in-process transport.

    ``timeout_s`` bounds each read (the gap between two stream chunks), not the whole call.
    ``tls`` is a TLS context to share between clients (httpx builds a new one per client otherwise).
    """
    import httpx

    if transport is None and provider and is_simulated(provider, config):
        from llmaudit.providers.sim import SimTransport

        transport = SimTransport()
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,
        verify=tls if tls is not None else True,
    )


def make_lanes(provider: str, config: Config | None = None, *, timeout_s: float = 120.0,
               connect_timeout: float = 10.0) -> ClientLanes:
    """The clients replay lends its requests to ``provider``: one single-connection client per request
    in flight (see ``lanes``), or one client shared by all for the in-process simulator (whose
    transport holds state across requests and has no connections to pool)."""
    import httpx

    from llmaudit.providers.lanes import ClientLanes

    if provider and is_simulated(provider, config):
        return ClientLanes(shared=make_client(provider, config, timeout_s=timeout_s, connect_timeout=connect_timeout))
    tls = httpx.create_ssl_context()
    return ClientLanes(lambda: make_client(provider, config, timeout_s=timeout_s, connect_timeout=connect_timeout,
                                           max_connections=1, tls=tls))
