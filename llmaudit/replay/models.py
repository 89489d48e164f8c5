"""``--models P/M[,P/M...]``: which provider serves each model, its native name, its price."""

from __future__ import annotations

from dataclasses import dataclass

from llmaudit.errors import UsageError

__all__ = ["ModelSpec", "check_models", "parse_models"]

SIM_PROVIDER = "sim"


@dataclass(frozen=True)
class ModelSpec:
    id: str  # "openai/gpt-4o-mini": provider (lower-cased) / model as the user wrote it
    provider: str  # "openai"
    native: str  # "gpt-4o-mini": what the provider's API calls it
    price_id: str  # the catalog name priced; a sim model borrows the prices of the model it mirrors

    @property
    def simulated(self) -> bool:
        return self.provider == SIM_PROVIDER


def _price_id(provider: str, native: str, model_id: str) -> str:
    if provider != SIM_PROVIDER:
        return model_id
    from llmaudit.mirrors import mirror_of

    return mirror_of(native) or model_id


def parse_models(models: list[str] | str) -> list[ModelSpec]:
    """Split, trim and de-duplicate; every entry must be ``provider/model``."""
    items = models.split(",") if isinstance(models, str) else [p for m in models for p in m.split(",")]
    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for item in items:
        name = item.strip()
        if not name:
            continue
        provider, sep, native = name.partition("/")
        provider, native = provider.strip().lower(), native.strip()
        if not sep or not provider or not native:
            raise UsageError(f"--models: {name!r} is not provider/model (e.g. openai/gpt-4o-mini, sim/gpt-4o-mini)")
        model_id = f"{provider}/{native}"
        if model_id in seen:
            continue
        seen.add(model_id)
        specs.append(ModelSpec(model_id, provider, native, _price_id(provider, native, model_id)))
    if not specs:
        raise UsageError("--models: give at least one provider/model")
    return specs


# Providers that serve their own local or self-declared models: the price catalog cannot know them.
_OPEN_PROVIDERS = frozenset({"ollama", "llamacpp", "vllm", "litellm"})


def check_models(specs: list[ModelSpec], config: object, catalog: object, *, strict: bool) -> list[str]:
    """Mistakes caught before any work: an unknown provider is an error; a simulated model the
    simulator does not have is an error; a hosted model the price catalog does not know is an error
    when ``strict`` (a dry run or an estimate, which would only price it as unknown) and a warning
    otherwise (a model newer than the catalog still runs). Returns the warnings."""
    import difflib

    from llmaudit.pricing.catalog import Catalog
    from llmaudit.providers.registry import provider_spec

    assert isinstance(catalog, Catalog)
    warnings: list[str] = []
    for spec in specs:
        provider_spec(spec.provider, config)  # type: ignore[arg-type]  # unknown provider: ProviderError, exit 2
        if spec.simulated:
            from llmaudit.mirrors import SIM_MODELS

            if spec.id not in SIM_MODELS:
                near = difflib.get_close_matches(spec.id, list(SIM_MODELS), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                raise UsageError(f"--models: the simulator has no model {spec.id!r}{hint} "
                                 f"(known: {', '.join(sorted(SIM_MODELS))})")
            continue
        section = getattr(config, "section", None)
        declared: dict[str, object] = section("providers", spec.provider) if section is not None else {}
        if spec.provider in _OPEN_PROVIDERS or declared:
            continue
        if catalog.resolve(spec.id) is not None or catalog.resolve(spec.native, spec.provider) is not None:
            continue
        names = [i.partition("/")[2] for i in catalog.ids if i.startswith(f"{spec.provider}/")] or \
            [i.partition("/")[2] for i in catalog.ids]
        near = difflib.get_close_matches(spec.native, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(f'{spec.provider}/{n}' for n in near)}?" if near else ""
        message = f"{spec.id} is not in the price catalog{hint}"
        if strict:
            raise UsageError(f"--models: {message} (a real run would send it and fail or be unpriced)")
        warnings.append(f"{message}: its cost will be reported as unpriced")
    return warnings
