"""A signature authorizes exactly the request it signs, over real HTTP (issue 13, finding 1).

The attack: take the headers of one signed ``GET /v1/fills`` and send them (with the original or a
freshly computed ``X-Content-SHA256``) on other methods, paths, queries and bodies. The local
gateway caches authorizer results exactly as API Gateway does (keyed on the template's identity
sources, for its ``ReauthorizeEvery``), so a template that cached on the key, timestamp and
signature alone, or a policy that allowed the whole stage, would let these through.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from orders_support import balances, new_trader, runtime_for, start_own_runtime
from trading.auth import content_sha256, signed_headers
from trading.client import decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ORDER = orjson.dumps(
    {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}
)
# (method, path with query, body): every one differs from the signed GET /v1/fills somewhere.
OTHER_REQUESTS = [
    ("POST", "/v1/orders", ORDER),
    ("DELETE", "/v1/orders?symbol=ETH-USD", b""),
    ("DELETE", "/v1/orders?symbol=BTC-USD", b""),
    ("DELETE", "/v1/orders/o-does-not-matter", b""),
    ("PATCH", "/v1/orders/o-does-not-matter", b'{"quantity": "0.001"}'),
    ("GET", "/v1/orders", b""),
    ("GET", "/v1/balances", b""),
    ("GET", "/v1/fills?symbol=BTC-USD", b""),
    ("GET", "/v1/fills?limit=1", b""),
    ("GET", "/v1/fills", b'{"a": 1}'),
]


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture
def runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


def test_the_template_never_caches_a_decision_and_requires_all_four_headers(runtime: Any) -> None:
    # Given the authorizer as the local gateway read it from template.yaml
    (authorizer,) = runtime.rest.api.authorizers.values()
    # Then no decision is cached and every signature header is an identity source
    assert authorizer.ttl_s == 0
    assert {h.lower() for h in authorizer.identity_headers} == {
        "x-api-key",
        "x-timestamp",
        "x-content-sha256",
        "x-signature",
    }


@pytest.mark.parametrize(("method", "target", "body"), OTHER_REQUESTS)
@pytest.mark.parametrize("fresh_body_hash", [False, True], ids=["signed-hash", "fresh-hash"])
def test_the_headers_of_a_signed_get_fills_authorize_nothing_else(
    runtime: Any, method: str, target: str, body: bytes, fresh_body_hash: bool
) -> None:
    # Given a funded trader with trade and read scopes, and one signed GET /v1/fills that succeeded
    trader = new_trader(runtime, USD="100000", BTC="1")
    headers = signed_headers(
        key_id=trader.key_id,
        secret=trader.secret,
        method="GET",
        path="/v1/fills",
        body=b"",
        timestamp_ms=int(time.time() * 1000),
    )
    with httpx.Client(base_url=runtime.urls.rest, timeout=30) as http:
        signed = http.get("/v1/fills", headers=headers)
        assert signed.status_code == 200, signed.text
        # When its headers are reused within the replay window on another method, path, query or body
        reused = dict(headers)
        if fresh_body_hash:
            reused["X-Content-SHA256"] = content_sha256(body)
        if body:
            reused["Content-Type"] = "application/json"
        response = http.request(method, target, content=body or None, headers=reused)
        # Then the gateway or the handler refuses it
        assert response.status_code in (401, 403), (response.status_code, response.text)
        assert decode(response)["code"] in ("UNAUTHENTICATED", "INVALID_SIGNATURE", "FORBIDDEN")
        # And the exact signed request still works (a byte-for-byte replay inside the window, ADR 0003)
        assert http.get("/v1/fills", headers=headers).status_code == 200
    # And nothing changed: no order, nothing held
    assert balances(trader)["USD"] == ("100000.000000", "0.000000")
    assert decode(trader.client.list_orders())["orders"] == []
