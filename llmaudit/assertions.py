"""Prompt checks (promptfoo assertion shapes); see docs/internals.md."""
