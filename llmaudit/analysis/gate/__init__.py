"""The gate (``llmaudit check``): measure, keep a baseline, grade the change against thresholds."""
