"""When models stop being served: ``pricing_data/lifecycle/deprecations.json``.

Written by ``scripts/extract_deprecations.py`` from the ``deprecation_date`` field of the newest
pinned LiteLLM release (the file names the release and its hashes). Only the routed what-if reads
it: a model is not proposed on or after its deprecation date. Logs are still priced at whatever
the model cost the day it served them.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from llmaudit.config import data_path

__all__ = ["deprecation_dates", "deprecation_source"]


@lru_cache(maxsize=1)
def _doc() -> dict[str, object]:
    path = data_path("pricing_data") / "lifecycle" / "deprecations.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return doc if isinstance(doc, dict) else {}


def deprecation_dates() -> dict[str, date]:
    """Catalog id → the day it is no longer served."""
    models = _doc().get("models", {})
    out: dict[str, date] = {}
    if isinstance(models, dict):
        for model, when in models.items():
            try:
                out[str(model)] = date.fromisoformat(str(when))
            except ValueError:
                continue
    return out


def deprecation_source() -> str:
    """Where the dates come from, for a report: ``LiteLLM 1.110.2 deprecation_date``."""
    source = _doc().get("source", {})
    if not isinstance(source, dict):
        return "unknown"
    return f"LiteLLM {source.get('version', '?')} {source.get('field', 'deprecation_date')}"
