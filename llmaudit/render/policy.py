"""A routing policy written for a gateway: a LiteLLM proxy config, OpenRouter request presets, a
Portkey config. Each is checked against a JSON Schema of the gateway's documented format
(``policy_schemas/``, sources in each schema's ``$comment``) before it is written.

Model names are translated to each gateway's own: LiteLLM's ``provider/model`` strings (``gemini/``
for Google AI Studio), OpenRouter's model slugs (found in the catalog's ``openrouter/`` entries) and
provider slugs, Portkey's provider names with the provider's model name. A model a gateway cannot
name is left out of that export, and the notes say which and why, never silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmaudit.analysis.routing.policy import Policy, Route

__all__ = ["FORMATS", "Export", "export_policy"]

FORMATS = ("litellm", "openrouter", "portkey")
_SCHEMAS = Path(__file__).resolve().parent / "policy_schemas"

_LITELLM_PROVIDER = {"google": "gemini"}   # every other catalog provider id is LiteLLM's own
_OPENROUTER_MAKER = {"mistral": "mistralai", "xai": "x-ai", "meta": "meta-llama", "qwen_ai_platform": "qwen",
                     "dashscope": "qwen", "moonshot": "moonshotai", "zai": "z-ai"}
_OPENROUTER_PROVIDER = {
    "openai": "openai", "anthropic": "anthropic", "google": "google-ai-studio", "vertex_ai": "google-vertex",
    "bedrock": "amazon-bedrock", "azure": "azure", "together_ai": "together", "deepinfra": "deepinfra",
    "fireworks_ai": "fireworks", "groq": "groq", "mistral": "mistral", "deepseek": "deepseek", "xai": "xai",
    "cerebras": "cerebras", "novita": "novita", "nebius": "nebius", "hyperbolic": "hyperbolic",
    "sambanova": "sambanova", "cohere": "cohere", "perplexity": "perplexity",
}
_PORTKEY_PROVIDER = {
    "openai": "openai", "anthropic": "anthropic", "google": "google", "vertex_ai": "vertex-ai", "bedrock": "bedrock",
    "azure": "azure-openai", "together_ai": "together-ai", "groq": "groq", "mistral": "mistral-ai",
    "deepseek": "deepseek", "openrouter": "openrouter", "fireworks_ai": "fireworks-ai", "deepinfra": "deepinfra",
    "xai": "x-ai", "cerebras": "cerebras", "perplexity": "perplexity-ai", "cohere": "cohere",
}
# Makers OpenRouter files models under: a slug under another name is a host's key, not a model.
_OPENROUTER_MAKERS = frozenset({
    "openai", "anthropic", "google", "meta-llama", "mistralai", "x-ai", "deepseek", "qwen", "cohere", "amazon",
    "microsoft", "nvidia", "moonshotai", "z-ai", "minimax", "perplexity", "ai21", "nousresearch", "inflection",
    "baidu", "tencent", "bytedance", "thudm", "arcee-ai", "liquid", "ibm-granite", "inception", "gryphe",
})
_DATED = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8})$")
_VERSION = re.compile(r"(\d)-(\d)(?=$|-)")


@dataclass(frozen=True)
class Export:
    text: str                 # what is written (YAML for LiteLLM, JSON otherwise)
    document: dict[str, Any]  # the same, as data (what the schema checked)
    notes: tuple[str, ...]    # models or routes left out, and why


def _split(model: str) -> tuple[str, str]:
    provider, _, name = model.partition("/")
    return provider, name


def _unsupported(model: str) -> str | None:
    if model.startswith("sim/"):
        return "sim/ is llmaudit's offline simulator, not a provider a gateway can call"
    return None


# ---------------------------------------------------------------------------------------------- LiteLLM
def _litellm_model(model: str) -> str:
    provider, name = _split(model)
    return f"{_LITELLM_PROVIDER.get(provider, provider)}/{name}"


def _yaml_str(value: str) -> str:
    return json.dumps(value)   # a JSON string is a YAML string, quoting and escapes included


def _to_litellm(policy: Policy, notes: list[str]) -> tuple[dict[str, Any], str]:
    model_list: list[dict[str, Any]] = []
    fallbacks: list[dict[str, list[str]]] = []
    for route in policy.routes:
        models = _usable(route, notes)
        if not models:
            continue
        # Clients keep the name they call today (a logged model's own name), or call the category.
        name = route.match[1].split("/", 1)[-1] if route.match and route.match[0] == "model" else route.name
        names = [name, *(f"{name}-fallback-{i}" for i in range(1, len(models)))]
        for group, model in zip(names, models, strict=True):
            model_list.append({"model_name": group, "litellm_params": {"model": _litellm_model(model)}})
        if len(names) > 1:
            fallbacks.append({name: names[1:]})
    doc = {"model_list": model_list, "router_settings": {"fallbacks": fallbacks}}
    lines = [f"# llmaudit policy export: {policy.source}", "# Add api_key: os.environ/... to each litellm_params.",
             "model_list:"]
    for entry in model_list:
        lines += [f"  - model_name: {_yaml_str(entry['model_name'])}",
                  "    litellm_params:",
                  f"      model: {_yaml_str(entry['litellm_params']['model'])}"]
    lines += ["router_settings:", "  fallbacks:" + ("" if fallbacks else " []")]
    for item in fallbacks:
        ((group, rest),) = item.items()
        lines.append(f"    - {_yaml_str(group)}: [{', '.join(_yaml_str(r) for r in rest)}]")
    return doc, "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- OpenRouter
def _openrouter_slug(model: str, catalog: Any) -> str | None:
    """OpenRouter's slug for ``model``: its own where the model is OpenRouter's, else the catalog's
    evidence that OpenRouter sells the same model (an ``openrouter/`` spelling joined to its entry,
    or one that resolves to the same entry)."""
    provider, name = _split(model)
    if provider == "openrouter":
        return name if name.count("/") == 1 and name.split("/")[0] in _OPENROUTER_MAKERS else None
    res = catalog.resolve(model) if catalog is not None else None
    if res is None:
        return None
    entry = res.entry
    for alias in (entry.id, *getattr(entry, "aliases", ())):
        slug = alias[len("openrouter/"):]
        # OpenRouter's slugs are maker/model: another host's key filed under openrouter/ is not one.
        if (alias.lower().startswith("openrouter/") and slug.count("/") == 1
                and slug.split("/")[0] in _OPENROUTER_MAKERS):
            return slug
    # A host's spelling names the maker first (groq/meta-llama/…); the maker's own does not.
    head, _, rest = name.partition("/") if "/" in name else (provider, "", name)
    maker, name = _OPENROUTER_MAKER.get(head, head), rest
    if "/" in name:
        return None
    bare = _DATED.sub("", name.lower())
    for candidate in dict.fromkeys((name.lower(), bare, _VERSION.sub(r"\1.\2", bare))):
        key = f"openrouter/{maker}/{candidate}"
        other = catalog.resolve(key)
        # The same entry (prices joined on evidence), or OpenRouter's own listing of that maker's
        # model under the same name.
        if other is not None and other.entry.id in (entry.id, key) and maker in _OPENROUTER_MAKERS:
            return f"{maker}/{candidate}"
    return None


def _to_openrouter(policy: Policy, notes: list[str], catalog: Any) -> tuple[dict[str, Any], str]:
    routes: dict[str, Any] = {}
    for route in policy.routes:
        slugs: list[str] = []
        order: list[str] = []
        for model in _usable(route, notes):
            slug = _openrouter_slug(model, catalog)
            if slug is None:
                notes.append(f"{route.name}: {model} left out: no OpenRouter model of that name in the catalog")
                continue
            if slug not in slugs:
                slugs.append(slug)
            served = _OPENROUTER_PROVIDER.get(_split(model)[0])
            if served is not None and served not in order:
                order.append(served)
        if not slugs:
            notes.append(f"{route.name}: left out: none of its models is on OpenRouter")
            continue
        preset: dict[str, Any] = {"models": slugs}
        if order:
            preset["provider"] = {"order": order, "allow_fallbacks": True}
        routes[route.name] = preset
    doc = {"routes": routes}
    return doc, json.dumps(doc, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------- Portkey
def _to_portkey(policy: Policy, notes: list[str]) -> tuple[dict[str, Any], str]:
    targets: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []
    default = None
    for route in policy.routes:
        leaves = []
        for model in _usable(route, notes):
            provider, name = _split(model)
            slug = _PORTKEY_PROVIDER.get(provider)
            if slug is None:
                notes.append(f"{route.name}: {model} left out: Portkey has no provider named for {provider}")
                continue
            leaves.append({"provider": slug, "override_params": {"model": name}})
        if not leaves:
            notes.append(f"{route.name}: left out: Portkey can call none of its models")
            continue
        targets.append({"name": route.name, "strategy": {"mode": "fallback"}, "targets": leaves})
        if route.match is None:
            default = route.name
        elif route.match[0] == "category":
            conditions.append({"query": {"metadata.category": {"$eq": route.match[1]}}, "then": route.name})
        else:
            conditions.append({"query": {"params.model": {"$eq": route.match[1].split("/", 1)[-1]}},
                               "then": route.name})
    if default is None and targets:
        default = targets[0]["name"]   # logs give no catch-all route: the largest route's models take the rest
        notes.append(f"requests matching no route go to '{default}'")
    doc = {"strategy": {"mode": "conditional", "conditions": conditions, "default": default or ""},
           "targets": targets}
    return doc, json.dumps(doc, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------- common
def _usable(route: Route, notes: list[str]) -> list[str]:
    out = []
    for model in route.models:
        why = _unsupported(model)
        if why is not None:
            notes.append(f"{route.name}: {model} left out: {why}")
            continue
        out.append(model)
    return out


def _check(fmt: str, doc: dict[str, Any]) -> None:
    """The export against the gateway's documented format, and the references inside it."""
    import jsonschema

    schema = json.loads((_SCHEMAS / f"{fmt}.schema.json").read_text())
    jsonschema.validate(doc, schema)
    if fmt == "litellm":
        groups = {m["model_name"] for m in doc["model_list"]}
        for item in doc["router_settings"]["fallbacks"]:
            for group, rest in item.items():
                missing = [r for r in [group, *rest] if r not in groups]
                if missing:
                    raise ValueError(f"fallback names {missing} are not model_list entries")
    if fmt == "portkey":
        names = {t["name"] for t in doc["targets"]}
        refs = [c["then"] for c in doc["strategy"]["conditions"]] + [doc["strategy"]["default"]]
        if any(r not in names for r in refs):
            raise ValueError("a condition names a target that does not exist")


def export_policy(policy: Policy, fmt: str, *, catalog: Any = None) -> Export:
    """``policy`` in gateway format ``fmt`` (``FORMATS``), checked against its schema."""
    from llmaudit.errors import UsageError

    notes: list[str] = list(policy.notes)
    if fmt == "litellm":
        doc, text = _to_litellm(policy, notes)
    elif fmt == "openrouter":
        doc, text = _to_openrouter(policy, notes, catalog)
    elif fmt == "portkey":
        doc, text = _to_portkey(policy, notes)
    else:
        raise UsageError(f"--to {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not (doc.get("model_list") or doc.get("routes") or doc.get("targets")):
        raise UsageError(f"nothing to export for {fmt}: " + ("; ".join(notes) or "the policy has no route"))
    _check(fmt, doc)
    return Export(text, doc, tuple(dict.fromkeys(notes)))
