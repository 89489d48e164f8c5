"""Routing: what the same work costs elsewhere, the strategies that route it, and the policy to deploy."""
