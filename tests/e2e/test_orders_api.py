"""Order entry over real HTTP against the local runtime: authentication, validation, funds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from orders_support import balances, new_trader, runtime_for, start_own_runtime, wait_for
from trading.auth import signed_headers
from trading.client import TradingClient, decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ORDER = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture
def runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


def test_unsigned_bad_signature_and_stale_requests_are_refused(runtime: Any) -> None:
    # Given a funded trader
    trader = new_trader(runtime, USD="1000")
    anonymous = TradingClient(runtime.urls.rest)
    # When a request carries no signature at all / only the key / a wrong signature / an old timestamp
    unsigned = anonymous.request("POST", "/v1/orders", json=ORDER, sign=False)
    key_only = anonymous.request("POST", "/v1/orders", json=ORDER, headers={"X-API-Key": trader.key_id})
    bad = trader.client.request("POST", "/v1/orders", json=ORDER, headers={"X-Signature": "00" * 32})
    old_ms = int(time.time() * 1000) - 60_000
    stale_headers = signed_headers(
        key_id=trader.key_id,
        secret=trader.secret,
        method="GET",
        path="/v1/balances",
        body=b"",
        timestamp_ms=old_ms,
    )
    stale = anonymous.request("GET", "/v1/balances", headers=stale_headers)
    # Then none gets through, and nothing is held
    assert unsigned.status_code in (401, 403)
    assert key_only.status_code == 401
    assert (bad.status_code, decode(bad)["code"]) == (401, "UNAUTHENTICATED")
    assert stale.status_code == 401
    assert balances(trader)["USD"] == ("1000.000000", "0.000000")


def test_a_body_changed_after_signing_is_refused(runtime: Any) -> None:
    trader = new_trader(runtime, USD="1000")
    headers = signed_headers(
        key_id=trader.key_id,
        secret=trader.secret,
        method="POST",
        path="/v1/orders",
        body=b'{"symbol": "BTC-USD"}',
        timestamp_ms=int(time.time() * 1000),
    )
    response = TradingClient(runtime.urls.rest).request("POST", "/v1/orders", json=ORDER, headers=headers)
    assert response.status_code == 401


def test_wrong_scope_is_forbidden(runtime: Any) -> None:
    # Given a read-only key
    reader = new_trader(runtime, scopes=("read",), USD="1000")
    # When it places an order / Then 403 FORBIDDEN, while reading works
    response = reader.client.place_order(**ORDER)
    assert (response.status_code, decode(response)["code"]) == (403, "FORBIDDEN")
    assert reader.client.balances().status_code == 200


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"symbol": "BTC-USD", "side": ', "MALFORMED_JSON"),
        (
            b'{"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1", "x": 1}',
            "UNKNOWN_FIELD",
        ),
        (
            b'{"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "3.001", "quantity": "0.01"}',
            "INVALID_PRICE",
        ),
        (
            b'{"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000", "quantity": "0.00001"}',
            "INVALID_QUANTITY",
        ),
        (
            b'{"symbol": "DOGE-USD", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1"}',
            "UNKNOWN_SYMBOL",
        ),
    ],
)
def test_bad_requests_get_400_with_a_code(runtime: Any, content: bytes, code: str) -> None:
    trader = new_trader(runtime, USD="1000")
    response = trader.client.request("POST", "/v1/orders", content=content)
    assert (response.status_code, decode(response)["code"]) == (400, code), response.text
    assert balances(trader)["USD"] == ("1000.000000", "0.000000")


def test_insufficient_funds_is_422_and_holds_nothing(runtime: Any) -> None:
    # Given 100 USD
    trader = new_trader(runtime, USD="100")
    # When buying 300 USD worth
    response = trader.client.place_order(**ORDER)
    # Then 422 and nothing held, no order listed
    assert (response.status_code, decode(response)["code"]) == (422, "INSUFFICIENT_FUNDS")
    assert balances(trader)["USD"] == ("100.000000", "0.000000")
    assert decode(trader.client.list_orders())["orders"] == []


def test_accepted_order_holds_its_worst_case_and_a_retry_is_the_same_order(runtime: Any) -> None:
    # Given 1000 USD
    trader = new_trader(runtime, USD="1000")
    # When an order far from the market is placed twice with one client order id
    body = {**ORDER, "price": "100.00", "quantity": "1.0000", "client_order_id": "e2e-retry"}
    first, second = trader.client.place_order(**body), trader.client.place_order(**body)
    # Then both answers are the same 201, and 100 USD + 0.2 % is held once
    assert first.status_code == second.status_code == 201, first.text
    assert decode(first) == decode(second)
    assert balances(trader)["USD"] == ("899.800000", "100.200000")
    # And the public market data is served without a signature
    market = TradingClient(runtime.urls.rest)
    assert [i["symbol"] for i in decode(market.instruments())["instruments"]] == ["BTC-USD", "ETH-USD"]
    assert market.request("GET", "/v1/openapi.json", sign=False).status_code == 200
    # Finally the order is canceled, so no other test meets it on the book
    assert trader.client.cancel_all("BTC-USD").status_code == 202


def test_concurrent_duplicates_over_http_create_one_order(runtime: Any) -> None:
    # Given 8 clients sending the same client order id at the same moment
    trader = new_trader(runtime, USD="1000")
    body = {
        **ORDER,
        "symbol": "ETH-USD",
        "price": "10.00",
        "quantity": "1.000",
        "client_order_id": "dup-http",
    }
    barrier = threading.Barrier(8)

    def send(_: int) -> tuple[int, str]:
        client = TradingClient(runtime.urls.rest, trader.key_id, trader.secret)
        barrier.wait()
        response = client.place_order(**body)
        client.close()
        answer = decode(response)
        return response.status_code, str(answer.get("order_id") or answer.get("code"))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    # Then every answer is the one order (201) or "in progress" (409), and one order is held
    assert {status for status, _ in results} <= {201, 409}
    order_ids = {value for status, value in results if status == 201}
    assert len(order_ids) == 1
    assert {value for status, value in results if status == 409} <= {"IDEMPOTENCY_CONFLICT"}
    assert [o["order_id"] for o in decode(trader.client.list_orders())["orders"]] == list(order_ids)
    assert balances(trader)["USD"] == ("989.980000", "10.020000")
    trader.client.cancel_all("ETH-USD")


def test_racing_clients_never_drive_available_below_zero(runtime: Any) -> None:
    # Given funds for exactly 5 orders (10 USD + 0.2 % fee each) and 10 clients placing 2 each
    trader = new_trader(runtime, USD="50.10")
    barrier = threading.Barrier(10)

    def send(_: int) -> list[int]:
        client = TradingClient(runtime.urls.rest, trader.key_id, trader.secret)
        barrier.wait()
        statuses = [
            client.place_order(
                symbol="ETH-USD", side="BUY", type="LIMIT", price="10.00", quantity="1.000"
            ).status_code
            for _ in range(2)
        ]
        client.close()
        return statuses

    with ThreadPoolExecutor(10) as pool:
        statuses = [s for batch in pool.map(send, range(10)) for s in batch]
    # Then exactly 5 are accepted, 15 refused for funds, and everything is held, nothing more
    assert sorted(statuses) == [201] * 5 + [422] * 15
    assert balances(trader)["USD"] == ("0.000000", "50.100000")
    trader.client.cancel_all("ETH-USD")


def test_a_halted_symbol_rejects_new_orders_until_resumed(runtime: Any) -> None:
    # Given ETH-USD halted by an operator
    trader = new_trader(runtime, USD="1000")
    body = {**ORDER, "symbol": "ETH-USD", "price": "10.00", "quantity": "1.000"}
    runtime.admin({"action": "halt", "symbol": "ETH-USD"})
    try:
        # When an order arrives after the intake's instrument cache (1 s) has expired
        time.sleep(1.5)
        halted = trader.client.place_order(**body)
        # Then it is refused with INSTRUMENT_HALTED and nothing is held
        assert (halted.status_code, decode(halted)["code"]) == (422, "INSTRUMENT_HALTED")
        assert balances(trader)["USD"] == ("1000.000000", "0.000000")
    finally:
        runtime.admin({"action": "resume", "symbol": "ETH-USD"})
    # And after the resume orders are accepted again
    accepted = wait_for(lambda: (r := trader.client.place_order(**body)).status_code == 201 and r)
    assert decode(accepted)["status"] == "PENDING"
    trader.client.cancel_all("ETH-USD")
