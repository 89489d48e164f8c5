"""Offline token counting (being built by the foundation issue; see formats.md §E)."""
