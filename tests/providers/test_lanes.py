"""ClientLanes: a client per request in flight, reused most-recently-freed first."""

from __future__ import annotations

import httpx
import pytest

from llmaudit.providers import ClientLanes, make_lanes
from llmaudit.providers.sim import SimTransport


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200)))


async def test_one_client_per_request_in_flight_and_the_last_freed_is_lent_first() -> None:
    lanes = ClientLanes(_client)
    a, b, c = lanes.acquire(), lanes.acquire(), lanes.acquire()
    assert len({id(a), id(b), id(c)}) == 3 and len(lanes) == 3
    lanes.release(b)
    lanes.release(a)
    assert lanes.acquire() is a  # warm connection first
    assert lanes.acquire() is b
    assert len(lanes) == 3  # nothing new made while freed clients were there
    assert lanes.acquire() not in (a, b, c)
    await lanes.aclose()
    assert a.is_closed and b.is_closed and c.is_closed and len(lanes) == 0


async def test_a_shared_client_is_lent_to_every_request() -> None:
    shared = _client()
    lanes = ClientLanes(shared=shared)
    assert lanes.acquire() is shared and lanes.acquire() is shared
    lanes.release(shared)
    assert len(lanes) == 1
    await lanes.aclose()
    assert shared.is_closed


def test_needs_exactly_one_way_to_get_clients() -> None:
    with pytest.raises(ValueError):
        ClientLanes()
    with pytest.raises(ValueError):
        ClientLanes(_client, shared=_client())


async def test_make_lanes_gives_each_lane_one_connection_and_sim_one_shared_client() -> None:
    lanes = make_lanes("openai")
    a, b = lanes.acquire(), lanes.acquire()
    assert a is not b
    assert a._transport._pool._max_connections == 1  # type: ignore[attr-defined]
    await lanes.aclose()
    sim = make_lanes("sim")
    client = sim.acquire()
    assert sim.acquire() is client and isinstance(client._transport, SimTransport)
    await sim.aclose()
