"""What the spend, routing and gate packages share: log records, money in JSON, latency figures."""
