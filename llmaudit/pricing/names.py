"""Model-name normalization: the spellings of one model across APIs, clouds and gateways.

``variants(raw)`` turns a name as a log spelled it into an ordered list of candidate names, most
specific first, each labelled with the step that produced it (formats.md §D). The catalog tries
them in order and records the label as ``Resolution.matched_by``. Dated snapshots are tried as
they are before their date is stripped, because a snapshot can carry its own price
(``gpt-4o-2024-05-13`` is $5, ``gpt-4o`` $2.50).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAKERS",
    "PLATFORMS",
    "PROVIDER_ALIASES",
    "PROVIDER_PRIORITY",
    "VENDOR_FAMILIES",
    "Variant",
    "canonical_provider",
    "model_vendor",
    "split_provider",
    "variants",
]

# Prefixes a name may carry, mapped to the catalog's provider ids.
PROVIDER_ALIASES: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "googleai": "google",
    "gemini": "google",
    "vertex_ai": "vertex_ai",
    "vertex": "vertex_ai",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure": "azure",
    "azure_ai": "azure_ai",
    "openrouter": "openrouter",
    "mistral": "mistral",
    "mistralai": "mistral",
    "codestral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "x-ai": "xai",
    "groq": "groq",
    "together_ai": "together_ai",
    "together": "together_ai",
    "togethercomputer": "together_ai",
    "fireworks_ai": "fireworks_ai",
    "fireworks": "fireworks_ai",
    "deepinfra": "deepinfra",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "perplexity": "perplexity",
    "meta": "meta",
    "meta_llama": "meta",
    "meta-llama": "meta",
    "ai21": "ai21",
    "cerebras": "cerebras",
    "sambanova": "sambanova",
    "moonshot": "moonshot",
    "moonshotai": "moonshot",
    "dashscope": "dashscope",
    "qwen": "dashscope",
    "zai": "zai",
    "z-ai": "zai",
    "minimax": "minimax",
    "nebius": "nebius",
    "novita": "novita",
    "ollama": "ollama",
}

# Clouds and gateways that resell first-party models: their spellings of a first-party model
# resolve to the first-party entry.
PLATFORMS = frozenset({"bedrock", "vertex_ai", "azure", "azure_ai", "openrouter"})

# Companies that make (not resell) models: a bare name resolves to theirs first.
MAKERS = frozenset({
    "openai", "anthropic", "google", "mistral", "deepseek", "xai", "meta", "cohere", "perplexity",
    "ai21", "moonshot", "dashscope", "zai", "minimax", "amazon_nova",
})

# Who made a model, by the documented prefix of its own name (the name once a gateway's or cloud's
# wrapper is stripped). Vendors are spelled as the catalog's maker ids (``MAKERS``): Qwen is
# ``dashscope``, Amazon's Nova ``amazon_nova``. A name matching none of these has no known vendor.
VENDOR_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"claude", "anthropic"),
    (r"gpt-|o[134](?:-|$)|chatgpt|text-embedding-|davinci|babbage|ft:gpt|codex|computer-use|dall-e|whisper|tts-",
     "openai"),
    (r"gemini|gemma", "google"),
    (r"llama|meta-llama", "meta"),
    (r"mistral|open-mistral|mixtral|open-mixtral|codestral|ministral|pixtral|magistral|devstral", "mistral"),
    (r"deepseek", "deepseek"),
    (r"grok", "xai"),
    (r"qwen|qwq", "dashscope"),
    (r"command|c4ai-", "cohere"),
    (r"sonar", "perplexity"),
    (r"jamba", "ai21"),
    (r"kimi|moonshot", "moonshot"),
    (r"glm-", "zai"),
    (r"minimax|abab", "minimax"),
    (r"nova-", "amazon_nova"),
)
_VENDOR_FAMILY = [(re.compile(f"^(?:{pattern})", re.I), vendor) for pattern, vendor in VENDOR_FAMILIES]

# When a bare name (no provider) exists under several providers, the first listed wins.
PROVIDER_PRIORITY = (
    "openai", "anthropic", "google", "mistral", "deepseek", "xai", "meta", "cohere", "perplexity",
    "ai21", "moonshot", "dashscope", "zai", "minimax", "groq", "together_ai", "fireworks_ai",
    "deepinfra", "cerebras", "sambanova", "bedrock", "vertex_ai", "azure", "azure_ai", "openrouter",
)

# ":free" is not stripped: a free variant priced as the paid model would invent a cost.
_OPENROUTER_VARIANT = re.compile(r"^(?P<name>.+?):(beta|nitro|floor|extended|thinking|online|exacto)$", re.I)
_BEDROCK_GEO = re.compile(r"^(us|eu|apac|global|jp|au|ca|us-gov|apne\d?)\.(?=[a-z0-9-]+\.)", re.I)
_BEDROCK_VENDOR = re.compile(
    r"^(anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|qwen|writer|twelvelabs)\.", re.I)
_BEDROCK_VERSION = re.compile(r"-v\d+(:\d+)?$|:\d+$", re.I)
_VERTEX_AT = re.compile(r"(-v\d+)?@(\d{8}|default|latest|\d{3})$", re.I)
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_SHORT_DATE_SUFFIX = re.compile(r"-(\d{4}|\d{3})$")
_CLAUDE_OLD_ORDER = re.compile(r"^claude-(\d+(?:-\d+)?)-(opus|sonnet|haiku)(-.*)?$", re.I)
_CLAUDE_NEW_ORDER = re.compile(r"^claude-(opus|sonnet|haiku)-(\d+(?:-\d+)?)(-.*)?$", re.I)


@dataclass(frozen=True)
class Variant:
    name: str
    provider: str | None
    step: str


def canonical_provider(prefix: str) -> str | None:
    return PROVIDER_ALIASES.get(prefix.lower())


def split_provider(name: str) -> tuple[str | None, str]:
    """``gemini/gemini-2.5-pro`` → (``google``, ``gemini-2.5-pro``); unknown prefixes are kept."""
    head, sep, rest = name.partition("/")
    if sep and rest:
        provider = canonical_provider(head)
        if provider is not None:
            return provider, rest
    return None, name


def _claude_forms(name: str) -> list[str]:
    """``claude-3.5-sonnet`` → ``claude-3-5-sonnet``; ``claude-4.5-sonnet`` ↔ ``claude-sonnet-4-5``."""
    if not name.lower().startswith("claude"):
        return []
    forms = []
    dashed = name.replace(".", "-")
    if dashed != name:
        forms.append(dashed)
    m = _CLAUDE_OLD_ORDER.match(dashed)
    if m and int(m.group(1).split("-")[0]) >= 4:
        forms.append(f"claude-{m.group(2)}-{m.group(1)}{m.group(3) or ''}")
    m = _CLAUDE_NEW_ORDER.match(dashed)
    if m and int(m.group(2).split("-")[0]) < 4:
        forms.append(f"claude-{m.group(2)}-{m.group(1)}{m.group(3) or ''}")
    return forms


def _unwrap(raw: str) -> list[tuple[str, str | None, str]]:
    """Strip gateway / cloud wrappers; returns (name, provider hint, step) most specific first."""
    out: list[tuple[str, str | None, str]] = []
    name, hint, step = raw, None, "exact"

    lowered = name.lower()
    if lowered.startswith("openrouter/"):
        name, step = name[len("openrouter/"):], "openrouter"
        out.append((name, None, step))
    m = _OPENROUTER_VARIANT.match(name)
    if m:
        name, step = m.group("name"), "openrouter"
        out.append((name, None, step))

    # Bedrock: ARNs, bedrock/<region>/<mode>/..., geo prefixes, vendor prefix, -vN:M.
    if name.lower().startswith("arn:aws:bedrock"):
        name, step, hint = name.rsplit("/", 1)[-1], "bedrock", "bedrock"
    if name.lower().startswith("bedrock/"):
        name, step, hint = name.rsplit("/", 1)[-1], "bedrock", "bedrock"
        out.append((name, hint, step))
    g = _BEDROCK_GEO.match(name)
    if g:
        name, step, hint = name[g.end():], "bedrock", "bedrock"
        out.append((name, hint, step))
    v = _BEDROCK_VENDOR.match(name)
    if v and (hint == "bedrock" or _BEDROCK_VERSION.search(name)):
        vendor = canonical_provider(v.group(1)) or v.group(1).lower()
        stripped = _BEDROCK_VERSION.sub("", name[v.end():])
        out.append((name, "bedrock", "bedrock"))
        name, step, hint = stripped, "bedrock", vendor
        out.append((name, hint, step))

    provider, rest = split_provider(name)
    if provider is not None:
        name = rest
        if provider in PLATFORMS:
            step = provider if step == "exact" else step
            hint = hint or provider
            out.append((name, provider, step))
            provider, rest = split_provider(name)
            if provider is not None:
                name, hint = rest, provider
        else:
            hint = provider
        out.append((name, hint, step))
    if name.lower().startswith("models/"):
        name, step = name[len("models/"):], "prefix"
        out.append((name, hint, step))

    at = _VERTEX_AT.search(name)
    if at:
        date_part = at.group(2)
        base = name[: at.start()]
        step = "vertex"
        if date_part.isdigit() and len(date_part) == 8:
            out.append((f"{base}-{date_part}", hint if hint != "vertex_ai" else None, step))
        out.append((base, hint if hint != "vertex_ai" else None, step))
        name = base
    return out


def variants(raw: str, provider: str | None = None) -> list[Variant]:
    """Candidate names for ``raw``, most specific first, without duplicates."""
    seen: set[tuple[str, str | None]] = set()
    result: list[Variant] = []

    def add(name: str, hint: str | None, step: str) -> None:
        key = (name.lower(), hint)
        if name and key not in seen:
            seen.add(key)
            result.append(Variant(name, hint, step))

    raw = raw.strip()
    add(raw, provider, "exact")
    if provider == "openrouter" and "/" in raw and not raw.lower().startswith("openrouter/"):
        # OpenRouter's dated permaslug ("deepseek/deepseek-v4.1-flash-20260910") of a model it lists
        # undated: its own listing comes before the maker's entries.
        for pattern in (_DATE_SUFFIX, _SHORT_DATE_SUFFIX):
            stripped = pattern.sub("", raw)
            if stripped != raw:
                add(stripped, provider, "dated-snapshot")
    unwrapped = _unwrap(raw)
    for name, hint, step in unwrapped:
        add(name, hint or provider, step)
    base_name, base_hint, _ = unwrapped[-1] if unwrapped else (raw, None, "exact")
    base_hint = base_hint or provider

    # Spelling variants of the fully unwrapped name.
    spellings = [base_name, *_claude_forms(base_name)]
    for form in spellings[1:]:
        add(form, base_hint, "alias")
    # Dated snapshots fall back to the undated model; -latest aliases to the family.
    undated: list[str] = []
    for form in spellings:
        for pattern in (_DATE_SUFFIX, _SHORT_DATE_SUFFIX):
            stripped = pattern.sub("", form)
            if stripped != form:
                undated.append(stripped)
                undated.extend(_claude_forms(stripped))
    for form in undated:
        add(form, base_hint, "dated-snapshot")
    for form in undated or spellings:
        if form.lower().endswith("-latest"):
            add(form[: -len("-latest")], base_hint, "latest-alias")
        else:
            add(f"{form}-latest", base_hint, "latest-alias")
    return result


def model_vendor(raw: str | None, provider: str | None = None) -> str | None:
    """Who made the model a row used (``provider`` is who served and billed it); None when unknown.

    In order: a maker serving the request is its own vendor; else a maker the name itself names
    (OpenRouter's ``anthropic/claude-…``, Bedrock's ``us.anthropic.claude-…``, LiteLLM's
    ``gemini/…``); else the model family, by the documented prefix of the unwrapped name
    (``VENDOR_FAMILIES``: Vertex's ``claude-…@date``, Azure's ``gpt-4o``, Groq's ``llama-3…``).
    Pricing adds one more rule (``pricing.table``): a row resolved to a maker's catalog entry.
    """
    served = canonical_provider(provider) if provider else None
    if served in MAKERS:
        return served
    name = (raw or "").strip()
    if not name:
        return None
    unwrapped = _unwrap(name)
    for _, hint, _ in reversed(unwrapped):
        if hint in MAKERS:
            return hint
    base = unwrapped[-1][0] if unwrapped else name
    bare = base.rsplit("/", 1)[-1]
    for pattern, vendor in _VENDOR_FAMILY:
        if pattern.match(bare):
            return vendor
    return None
