"""The signing client produces requests the authorizer accepts (httpx MockTransport, no network)."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
from trading.auth import ApiKey, Scope, check_body_hash, hash_secret
from trading.auth.authorizer import authenticate
from trading.client import TradingClient

NOW = 1_764_072_000_000
KEY = ApiKey("ak_client_test_000000", "alice", hash_secret("secret"), frozenset({Scope.TRADE, Scope.READ}))


def as_authorizer_event(request: httpx.Request) -> dict:
    query = parse_qs(request.url.query.decode(), keep_blank_values=True)
    return {
        "httpMethod": request.method,
        "path": request.url.path,
        "headers": dict(request.headers),
        "multiValueQueryStringParameters": query or None,
    }


def test_client_requests_pass_the_authorizer_and_the_body_check() -> None:
    # Given a client whose transport runs the server-side checks
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        principal = authenticate(
            as_authorizer_event(request), lambda _: KEY, now_ms=NOW, replay_window_seconds=30
        )
        check_body_hash(dict(request.headers), request.content)
        seen.append(f"{request.method} {request.url.raw_path.decode()} {principal.account_id}")
        return httpx.Response(200, json={})

    client = TradingClient(
        "http://api.test", KEY.key_id, "secret", clock_ms=lambda: NOW, transport=httpx.MockTransport(server)
    )
    # When it calls routes with bodies, path parameters and (unsorted) query parameters
    client.place_order(symbol="BTC-USD", side="BUY", type="LIMIT", price="1.00", quantity="1")
    client.list_orders(symbol="BTC-USD", status="OPEN", limit=5, cursor="a/b+c=")
    client.cancel_all("BTC-USD")
    client.amend_order("o1", quantity="0.5")
    # Then every request was accepted, with the query in canonical order
    assert seen == [
        "POST /v1/orders alice",
        "GET /v1/orders?cursor=a%2Fb%2Bc%3D&limit=5&status=OPEN&symbol=BTC-USD alice",
        "DELETE /v1/orders?symbol=BTC-USD alice",
        "PATCH /v1/orders/o1 alice",
    ]
