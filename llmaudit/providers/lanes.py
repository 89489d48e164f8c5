"""Clients for many requests in flight to one provider: one lane (an httpx client with a single
keep-alive connection) per request in flight.

Why not one client with a pool of N connections: httpcore's pool walks every connection, and for
each idle one every connection again, each time a request joins or leaves it. At 64 in flight
that is thousands of checks (and a ``poll`` per idle socket) per request, and it was most of what
a replay against a fast local server spent: a bare httpx loop with one 64-connection client
served 339 req/s where the same loop with 64 single-connection clients served 1,296
(bench/README.md, P4).

A request takes a free lane and gives it back when done; the most recently freed lane is handed
out first, so a light load keeps reusing a few warm connections. The caller bounds how many
requests are in flight (the runner's semaphores); lanes are made as needed, so there are never
more than that. Every lane shares one TLS context (building one per client costs ~50 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["ClientLanes"]


class ClientLanes:
    """Lends a client per request; ``make()`` builds a lane's client, or ``shared`` is lent to all."""

    def __init__(self, make: Callable[[], httpx.AsyncClient] | None = None, *,
                 shared: httpx.AsyncClient | None = None) -> None:
        if (make is None) == (shared is None):
            raise ValueError("ClientLanes needs either make or shared")
        self._make = make
        self._shared = shared
        self._free: list[httpx.AsyncClient] = []
        self._all: list[httpx.AsyncClient] = [shared] if shared is not None else []

    def __len__(self) -> int:
        return len(self._all)

    def acquire(self) -> httpx.AsyncClient:
        if self._shared is not None:
            return self._shared
        if self._free:
            return self._free.pop()
        assert self._make is not None
        client = self._make()
        self._all.append(client)
        return client

    def release(self, client: httpx.AsyncClient) -> None:
        if self._shared is None:
            self._free.append(client)

    async def aclose(self) -> None:
        clients, self._all, self._free = self._all, [], []
        for client in clients:
            await client.aclose()
