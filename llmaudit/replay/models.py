"""``--models P/M[,P/M...]``: which provider serves each model, its native name, its price."""

from __future__ import annotations

from dataclasses import dataclass

from llmaudit.errors import UsageError

__all__ = ["ModelSpec", "parse_models"]

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
    from llmaudit.providers.sim import mirror_of

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
