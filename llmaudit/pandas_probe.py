"""Keep pyarrow from importing pandas in commands that never use it.

pyarrow (seen on 26) imports pandas the first time it converts a Python value — ``pa.scalar(0)``,
``pa.array([...])``, a compute call with a literal — only to check whether the value is a pandas
object. That import costs 0.2–0.3 s of wall time in ``report --spend`` (measured on P1 and P2,
bench/README.md), a command in which nothing uses pandas.

``skip_pandas_probe()`` lets pyarrow make those first checks while pandas cannot be imported, so
pyarrow records it as absent, then lifts the block at once. pandas itself stays importable, and
pyarrow's explicit pandas paths (``to_pandas``, ``from_pandas``) import it when called. What
changes for the rest of the process: pyarrow no longer treats pandas objects handed to
``pa.array`` as pandas objects (a ``Series`` is read as a plain sequence, its NaN kept as NaN).
So call it only at the start of a command that builds no pandas objects: the in-process
``report --spend`` and ``ingest``. If pandas is already imported, it does nothing.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from typing import Any

__all__ = ["skip_pandas_probe"]


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not used by this command")
        return None


def skip_pandas_probe() -> None:
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        # The Cython scalar path and the C++ sequence converter each probe for pandas once.
        pa.scalar(0, pa.int64())
        pa.array([0, None])
        pa.array(["x"])
    except ImportError:
        pass   # a pyarrow that insists on pandas here: it will import it later, as it would anyway
    finally:
        sys.meta_path.remove(blocker)
