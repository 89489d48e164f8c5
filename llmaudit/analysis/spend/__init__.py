"""Spend: what logged LLM traffic cost, by day, budget, forecast, anomaly and plan (``report --spend``)."""
