"""Order lifecycle over real HTTP through the local runtime's matcher: crossing, time-in-force,
post-only, market, cancel, cancel-all and amend. ETH-USD, each test cleans its resting orders up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from orders_support import Trader, balances, new_trader, runtime_for, start_own_runtime, wait_for, wait_status
from trading.client import decode

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SYMBOL = "ETH-USD"


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture
def runtime(request: pytest.FixtureRequest) -> Iterator[Any]:
    runtime = runtime_for(request)
    traders: list[Trader] = []
    runtime.orders_traders = traders
    yield runtime
    for trader in traders:  # leave no resting order behind for the next test
        trader.client.cancel_all(SYMBOL)


def trader(runtime: Any, **deposits: str) -> Trader:
    t = new_trader(runtime, **deposits)
    runtime.orders_traders.append(t)
    return t


def place(t: Trader, **order: Any) -> dict[str, Any]:
    response = t.client.place_order(symbol=SYMBOL, client_order_id=uuid.uuid4().hex, **order)
    assert response.status_code == 201, response.text
    return dict(decode(response))


def test_two_accounts_cross_and_both_orders_fill(runtime: Any) -> None:
    # Given a resting sell of 0.5 ETH at 2500 from a seller
    seller, buyer = trader(runtime, ETH="1"), trader(runtime, USD="5000")
    sell = place(seller, side="SELL", type="LIMIT", price="2500.00", quantity="0.500")
    wait_status(seller, sell["order_id"], "OPEN")
    # When a buyer buys 0.5 ETH at 2500
    buy = place(buyer, side="BUY", type="LIMIT", price="2500.00", quantity="0.500")
    # Then both orders fill completely
    assert wait_status(buyer, buy["order_id"], "FILLED") == "FILLED"
    assert wait_status(seller, sell["order_id"], "FILLED") == "FILLED"
    filled = decode(buyer.client.get_order(buy["order_id"]))
    assert filled["filled_quantity"] == "0.500"


def test_crossing_settles_fills_balances_and_holds_to_the_unit(runtime: Any) -> None:
    # Given seller with 1 ETH and buyer with 5000 USD; maker fee 10 bps, taker fee 20 bps
    seller, buyer = trader(runtime, ETH="1"), trader(runtime, USD="5000")
    sell = place(seller, side="SELL", type="LIMIT", price="2500.00", quantity="0.500")
    wait_status(seller, sell["order_id"], "OPEN")
    # When the buyer takes it
    buy = place(buyer, side="BUY", type="LIMIT", price="2500.00", quantity="0.500")
    # Then both see the fill, and 1250 USD notional moved with 2.5 USD taker / 1.25 USD maker fees
    wait_for(lambda: decode(buyer.client.fills())["fills"])
    [buyer_fill] = decode(buyer.client.fills())["fills"]
    [seller_fill] = decode(seller.client.fills())["fills"]
    assert (buyer_fill["order_id"], buyer_fill["liquidity"], buyer_fill["fee"]) == (
        buy["order_id"],
        "TAKER",
        "2.500000",
    )
    assert (seller_fill["order_id"], seller_fill["liquidity"], seller_fill["fee"]) == (
        sell["order_id"],
        "MAKER",
        "1.250000",
    )
    wait_for(lambda: balances(buyer)["USD"][1] == "0.000000")
    assert balances(buyer)["USD"] == ("3747.500000", "0.000000")
    assert balances(buyer)["ETH"] == ("0.50000000", "0.00000000")
    assert balances(seller)["ETH"] == ("0.50000000", "0.00000000")
    assert balances(seller)["USD"] == ("1248.750000", "0.000000")


def test_ioc_without_liquidity_is_canceled_and_releases_its_hold(runtime: Any) -> None:
    buyer = trader(runtime, USD="1000")
    order = place(buyer, side="BUY", type="LIMIT", price="10.00", quantity="1.000", time_in_force="IOC")
    assert wait_status(buyer, order["order_id"], "CANCELED", "REJECTED") == "CANCELED"
    wait_for(lambda: balances(buyer)["USD"] == ("1000.000000", "0.000000"))


def test_fok_that_cannot_fill_completely_does_not_trade(runtime: Any) -> None:
    seller, buyer = trader(runtime, ETH="1"), trader(runtime, USD="10000")
    sell = place(seller, side="SELL", type="LIMIT", price="3000.00", quantity="0.100")
    wait_status(seller, sell["order_id"], "OPEN")
    fok = place(buyer, side="BUY", type="LIMIT", price="3000.00", quantity="0.200", time_in_force="FOK")
    assert wait_status(buyer, fok["order_id"], "CANCELED", "REJECTED") in ("CANCELED", "REJECTED")
    assert decode(buyer.client.get_order(fok["order_id"]))["filled_quantity"] == "0.000"
    assert decode(seller.client.get_order(sell["order_id"]))["status"] == "OPEN"


def test_post_only_that_would_cross_does_not_trade(runtime: Any) -> None:
    seller, buyer = trader(runtime, ETH="1"), trader(runtime, USD="10000")
    sell = place(seller, side="SELL", type="LIMIT", price="3100.00", quantity="0.100")
    wait_status(seller, sell["order_id"], "OPEN")
    maker = place(buyer, side="BUY", type="LIMIT", price="3100.00", quantity="0.100", post_only=True)
    assert wait_status(buyer, maker["order_id"], "CANCELED", "REJECTED") in ("CANCELED", "REJECTED")
    assert decode(seller.client.get_order(sell["order_id"]))["status"] == "OPEN"


def test_market_buy_with_a_budget_takes_liquidity(runtime: Any) -> None:
    seller, buyer = trader(runtime, ETH="1"), trader(runtime, USD="1000")
    sell = place(seller, side="SELL", type="LIMIT", price="3200.00", quantity="0.100")
    wait_status(seller, sell["order_id"], "OPEN")
    market = place(buyer, side="BUY", type="MARKET", quote_amount="160.00", time_in_force="IOC")
    assert wait_status(buyer, market["order_id"], "FILLED", "CANCELED") in ("FILLED", "CANCELED")
    assert decode(buyer.client.get_order(market["order_id"]))["filled_quantity"] == "0.050"
    assert wait_status(seller, sell["order_id"], "PARTIALLY_FILLED") == "PARTIALLY_FILLED"


def test_cancel_cancel_all_and_amend(runtime: Any) -> None:
    # Given three resting buys far below the market
    buyer = trader(runtime, USD="1000")
    orders = [place(buyer, side="BUY", type="LIMIT", price=f"{p}.00", quantity="1.000") for p in (11, 12, 13)]
    for order in orders:
        wait_status(buyer, order["order_id"], "OPEN")
    # When one is amended down, one canceled, then all canceled
    amend = buyer.client.amend_order(orders[0]["order_id"], quantity="0.500")
    assert amend.status_code == 202, amend.text
    wait_for(lambda: decode(buyer.client.get_order(orders[0]["order_id"]))["quantity"] == "0.500")
    cancel = buyer.client.cancel_order(orders[1]["order_id"])
    assert cancel.status_code == 202, cancel.text
    assert wait_status(buyer, orders[1]["order_id"], "CANCELED") == "CANCELED"
    assert buyer.client.cancel_order(orders[1]["order_id"]).status_code == 409
    cancel_all = buyer.client.cancel_all(SYMBOL)
    assert cancel_all.status_code == 202
    assert sorted(decode(cancel_all)["order_ids"]) == sorted(o["order_id"] for o in (orders[0], orders[2]))
    # Then every order ends CANCELED and all USD is available again
    for order in orders:
        assert wait_status(buyer, order["order_id"], "CANCELED") == "CANCELED"
    wait_for(lambda: balances(buyer)["USD"] == ("1000.000000", "0.000000"))


def test_amending_the_quantity_down_keeps_time_priority(runtime: Any) -> None:
    # Given two sells at one price, the first one older
    first_seller, second_seller = trader(runtime, ETH="1"), trader(runtime, ETH="1")
    buyer = trader(runtime, USD="10000")
    first = place(first_seller, side="SELL", type="LIMIT", price="3300.00", quantity="0.200")
    wait_status(first_seller, first["order_id"], "OPEN")
    second = place(second_seller, side="SELL", type="LIMIT", price="3300.00", quantity="0.200")
    wait_status(second_seller, second["order_id"], "OPEN")
    # When the older one reduces its quantity and a buyer takes exactly that much
    assert first_seller.client.amend_order(first["order_id"], quantity="0.100").status_code == 202
    wait_for(lambda: decode(first_seller.client.get_order(first["order_id"]))["quantity"] == "0.100")
    take = place(buyer, side="BUY", type="LIMIT", price="3300.00", quantity="0.100", time_in_force="IOC")
    # Then the older (amended) order is filled first and the younger one is untouched
    assert wait_status(buyer, take["order_id"], "FILLED") == "FILLED"
    assert wait_status(first_seller, first["order_id"], "FILLED") == "FILLED"
    assert decode(second_seller.client.get_order(second["order_id"]))["status"] == "OPEN"
