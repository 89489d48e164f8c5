"""The catalog builder's parts (used by ``scripts/build_catalog.py`` and its tests)."""
