"""A module imported the first time one of its names is used, not when the importing module is.

numpy and pyarrow take 0.1-0.2 s to import. A report answered from the store
(``ingest.answers``) unpickles and renders a ``SpendReport`` and needs neither, yet the modules
that define it use them for the work of a cold run. Those modules write::

    if TYPE_CHECKING:
        import pyarrow as pa
    else:
        pa = lazy("pyarrow")

so type checkers see the real module and a run imports it only on its first ``pa.…``.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["lazy"]


class _Lazy(types.ModuleType):
    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        # From now on every name is found directly, without coming back here.
        self.__dict__.update({k: v for k, v in module.__dict__.items() if k not in ("__name__", "__spec__")})
        return getattr(module, attr)


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access."""
    return _Lazy(name)
