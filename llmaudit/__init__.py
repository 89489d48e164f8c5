"""llmaudit: what LLM API usage really costs, elsewhere, and routed.

Kept import-light on purpose: ``llmaudit --help`` must start fast, so heavy libraries (pyarrow,
pandas, httpx) are imported by the modules that need them, never here.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
