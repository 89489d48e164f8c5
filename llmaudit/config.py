"""Settings: where llmaudit keeps its files, where its shipped data lives, and the user config.

The config file is TOML. It is looked up in this order: ``--config`` (passed in by the CLI),
``$LLMAUDIT_CONFIG``, ``./llmaudit.toml``, ``$LLMAUDIT_HOME/config.toml``. Each layer reads its
own section (``[pricing]``, ``[fees]``, ``[providers.NAME]``, ``[tiers]``, ``[check]``, ``[[budget]]``) so this
module knows nothing about what the sections mean. Keys never live here: config names the
environment variable that holds a key, never the key itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmaudit.errors import ConfigError

__all__ = ["Config", "data_path", "home_dir", "load_config", "why_unwritable"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def home_dir() -> Path:
    """User-level state (response cache, price overlays): ``$LLMAUDIT_HOME`` or ``~/.llmaudit``."""
    env = os.environ.get("LLMAUDIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".llmaudit"


def why_unwritable(path: Path, exc: OSError) -> str:
    """Why ``path`` (under ``$LLMAUDIT_HOME``, say) could not be written, in words a user can act
    on: the ancestor that is a file where a folder must be, else the system's reason."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is not a folder"
            break
    return exc.strerror or str(exc)


def data_path(name: str) -> Path:
    """Path of a shipped data folder: ``pricing_data``, ``templates``, ``examples``, ``tiers``.

    In a wheel these sit in ``llmaudit/_data/`` (hatch force-include); in a source checkout or an
    editable install they are the top-level folders of the repository (design card layout).
    """
    installed = _PACKAGE_DIR / "_data" / name
    if installed.exists():
        return installed
    repo_names = {"templates": Path("reports") / "templates"}
    checkout = _PACKAGE_DIR.parent / repo_names.get(name, Path(name))
    return checkout


@dataclass(frozen=True)
class Config:
    """The parsed config file; ``path`` is None when no file was found."""

    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def section(self, *keys: str) -> dict[str, Any]:
        """A nested table, e.g. ``section("pricing", "overrides")``; {} when absent."""
        node: Any = self.data
        for key in keys:
            if not isinstance(node, dict):
                return {}
            node = node.get(key, {})
        if not isinstance(node, dict):
            where = self.path or "config"
            raise ConfigError(f"{where}: [{'.'.join(keys)}] must be a table")
        return node


def _candidates(explicit: Path | None) -> list[Path]:
    if explicit is not None:
        return [explicit]
    found: list[Path] = []
    env = os.environ.get("LLMAUDIT_CONFIG")
    if env:
        return [Path(env)]
    found.append(Path.cwd() / "llmaudit.toml")
    found.append(home_dir() / "config.toml")
    return found


# The config file's tables and the tables inside them that llmaudit reads. Anything else is a typo
# ([pricing.overides."openai/gpt-4o"] silently dropped a negotiated price): an error with the
# nearest name. (The keys inside [replay], [fees], [check] and [providers.NAME] are checked where
# they are read.)
_SECTIONS: dict[str, frozenset[str] | None] = {
    "pricing": frozenset({"overrides", "discounts"}),
    "fees": None,
    "replay": None,
    "check": None,
    "providers": None,
    "tiers": None,
    "whatif": None,
    "budget": None,  # [[budget]] tables, read by analysis.spend.budget
    "plan": None,  # NAME = "AMOUNT/PERIOD", read by analysis.spend.subscription
}


def _check_sections(data: dict[str, Any], path: Path) -> None:
    import difflib

    def unknown(name: str, known: list[str], where: str) -> ConfigError:
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean [{where}{near[0]}]?" if near else f" (known: {', '.join(sorted(known))})"
        return ConfigError(f"{path}: unknown section [{where}{name}]{hint}")

    for key, value in data.items():
        if key not in _SECTIONS:
            raise unknown(key, list(_SECTIONS), "")
        inner = _SECTIONS[key]
        if inner is not None and isinstance(value, dict):
            for sub in value:
                if sub not in inner:
                    raise unknown(sub, list(inner), f"{key}.")


def load_config(path: str | Path | None = None) -> Config:
    """Read the first config file that exists; an explicit path that is missing is an error."""
    explicit = Path(path) if path is not None else None
    for candidate in _candidates(explicit):
        if not candidate.exists():
            if explicit is not None or os.environ.get("LLMAUDIT_CONFIG"):
                raise ConfigError(f"{candidate}: config file not found")
            continue
        try:
            with candidate.open("rb") as fh:
                data = tomllib.load(fh)
            _check_sections(data, candidate)
            return Config(data, candidate)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{candidate}: invalid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{candidate}: not UTF-8 text (byte {exc.start}: {exc.reason}); "
                              "TOML files are UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"{candidate}: cannot read: {exc.strerror}") from None
    return Config()
