"""The REST gateway of the local runtime on the real template: routes, real handlers, throttling."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_read_route_answers_through_the_real_handler(local_runtime):
    # Given the seeded runtime
    # When the public instruments route is read
    response = httpx.get(f"{local_runtime.rest_url}/v1/instruments", timeout=30)
    # Then the market_data function answered with the seeded instruments
    assert response.status_code == 200
    assert {i["symbol"] for i in response.json()["instruments"]} >= {"BTC-USD", "ETH-USD"}


def test_a_route_missing_from_the_template_answers_404_not_found(local_runtime):
    # Given paths/methods template.yaml does not declare
    # When they are requested
    responses = [
        httpx.get(f"{local_runtime.rest_url}/v1/no-such-route", timeout=30),
        httpx.put(f"{local_runtime.rest_url}/v1/instruments", timeout=30),
    ]
    # Then the template's MISSING_AUTHENTICATION_TOKEN gateway response answers, without any
    # function running: 404 with the API's error body instead of API Gateway's bare 403
    assert [r.status_code for r in responses] == [404, 404]
    assert [r.json() for r in responses] == [{"code": "NOT_FOUND", "message": "no such route"}] * 2


def test_a_signed_route_without_credentials_is_refused_by_the_gateway(local_runtime):
    # Given a route guarded by the template's API key requirement and REQUEST authorizer
    # When it is called without X-API-Key / signature headers
    response = httpx.get(f"{local_runtime.rest_url}/v1/balances", timeout=30)
    # Then the gateway refuses it before any function runs
    assert response.status_code in (401, 403)


def test_a_throttled_key_gets_429_with_retry_after(local_runtime):
    # Given the template's standard usage plan (rate/burst per API key) and a fresh key value
    key = f"throttle-{uuid.uuid4().hex}"

    async def burst() -> list[httpx.Response]:
        # Unsigned: the runtime throttles on the API key before the authorizer (docs/local.md), so
        # these requests are cheap and all of them arrive within far less than a second.
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=local_runtime.rest_url, timeout=60, limits=limits) as client:
            calls = [client.get("/v1/balances", headers={"X-API-Key": key}) for _ in range(150)]
            return list(await asyncio.gather(*calls))

    # When that key sends many more requests at once than the plan's burst allows
    responses = asyncio.run(burst())
    # Then the excess is throttled with the template's THROTTLED gateway response and Retry-After
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled, [r.status_code for r in responses]
    assert throttled[0].json()["code"] == "RATE_LIMITED"
    assert int(throttled[0].headers["Retry-After"]) >= 1
