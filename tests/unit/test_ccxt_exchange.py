"""trading.ccxt_exchange without a server: its signature is trading.auth's, every API error code
maps onto a ccxt exception (the e2e test drives them over HTTP: tests/e2e/test_ccxt_exchange.py)."""

from __future__ import annotations

import ccxt
import pytest
from trading.auth import canonical_path, signed_headers
from trading.ccxt_exchange import ERROR_CODES, TradingExchange
from trading.domain.errors import ErrorCode


def exchange(ms: int = 1_764_072_000_123) -> TradingExchange:
    ex = TradingExchange(
        {"apiKey": "ak_0123", "secret": "s3cret/with+chars", "urls": {"api": {"rest": "http://h:1"}}}
    )
    ex.milliseconds = lambda: ms  # type: ignore[method-assign]
    return ex


def test_a_signed_get_and_post_carry_exactly_trading_auths_headers() -> None:
    # Given a GET with a query that needs encoding, and a POST with a body
    ex = exchange()
    get = ex.sign("orders", "private", "GET", {"cursor": "a b/c*d~", "open": "true", "limit": 5})
    post = ex.sign("orders", "private", "POST", {"symbol": "BTC-USD", "price": "30000.50"})
    # Then the URLs carry the canonical query, and the headers are the ones trading.auth computes
    path = canonical_path("/v1/orders", {"cursor": ["a b/c*d~"], "open": ["true"], "limit": ["5"]})
    assert get["url"] == f"http://h:1{path}" and get["body"] is None
    assert get["headers"] == signed_headers(
        key_id="ak_0123",
        secret="s3cret/with+chars",
        method="GET",
        path=path,
        body=None,
        timestamp_ms=1_764_072_000_123,
    )
    assert post["url"] == "http://h:1/v1/orders"
    expected = signed_headers(
        key_id="ak_0123",
        secret="s3cret/with+chars",
        method="POST",
        path="/v1/orders",
        body=post["body"].encode(),
        timestamp_ms=1_764_072_000_123,
    )
    assert post["headers"] == {"Content-Type": "application/json", **expected}
    # And public calls are not signed
    assert ex.sign("book/{symbol}", "public", "GET", {"symbol": "BTC-USD", "depth": 1})["headers"] == {}


def test_every_api_error_code_maps_onto_a_ccxt_exception() -> None:
    # Given every code the API can answer
    missing = {code.value for code in ErrorCode} - set(ERROR_CODES)
    assert missing == set()
    ex = exchange()
    # When each arrives as an error body, Then its mapped exception is raised with the code
    for code, error in ERROR_CODES.items():
        with pytest.raises(error, match=code):
            ex.handle_errors(400, "x", "u", "GET", {}, "{}", {"code": code, "message": "m"}, {}, None)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("INSUFFICIENT_FUNDS", ccxt.InsufficientFunds),
        ("INVALID_PRICE", ccxt.InvalidOrder),
        ("QUANTITY_BELOW_MIN", ccxt.InvalidOrder),
        ("NOTIONAL_BELOW_MIN", ccxt.InvalidOrder),
        ("PRICE_REQUIRED", ccxt.InvalidOrder),
        ("POST_ONLY_WOULD_CROSS", ccxt.InvalidOrder),
        ("UNKNOWN_ORDER", ccxt.OrderNotFound),
        ("ORDER_NOT_OPEN", ccxt.OrderNotFound),
        ("UNAUTHENTICATED", ccxt.AuthenticationError),
        ("INVALID_SIGNATURE", ccxt.AuthenticationError),
        ("STALE_REQUEST", ccxt.AuthenticationError),
        ("FORBIDDEN", ccxt.PermissionDenied),
        ("RATE_LIMITED", ccxt.RateLimitExceeded),
        ("SERVICE_UNAVAILABLE", ccxt.ExchangeNotAvailable),
    ],
)
def test_the_issues_mapping(code: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        exchange().handle_errors(503, "x", "u", "GET", {}, "{}", {"code": code, "message": "m"}, {}, None)


def test_an_unknown_code_is_an_exchange_error_and_a_body_without_one_falls_to_the_http_status() -> None:
    ex = exchange()
    with pytest.raises(ccxt.ExchangeError, match="SOMETHING_NEW"):
        ex.handle_errors(400, "x", "u", "GET", {}, "{}", {"code": "SOMETHING_NEW"}, {}, None)
    assert ex.handle_errors(502, "x", "u", "GET", {}, "{}", {"message": "Bad Gateway"}, {}, None) is None
    assert ex.handle_errors(200, "x", "u", "GET", {}, "{}", {"code": "INSUFFICIENT_FUNDS"}, {}, None) is None
