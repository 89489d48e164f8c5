"""Helpers for MockTransport tests: canned SSE streams and JSON answers, with the request captured."""

from __future__ import annotations

import json
from typing import Any

import httpx


def sse(*events: Any, event_names: list[str | None] | None = None, done: bool = False) -> bytes:
    """An SSE body: each event is a dict (JSON-encoded) or a raw string."""
    out = []
    for i, event in enumerate(events):
        name = event_names[i] if event_names else None
        data = event if isinstance(event, str) else json.dumps(event)
        out.append((f"event: {name}\n" if name else "") + f"data: {data}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


class Recorder:
    """A MockTransport handler that answers every request with the same response and keeps them."""

    def __init__(
        self, status: int = 200, *, body: bytes = b"", json_body: Any = None, headers: dict[str, str] | None = None
    ):
        self.status = status
        self.body = body
        self.json_body = json_body
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.json_body is not None:
            return httpx.Response(self.status, json=self.json_body, headers=self.headers)
        headers = {"content-type": "text/event-stream", **self.headers}
        return httpx.Response(self.status, content=self.body, headers=headers)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    @property
    def sent(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)
