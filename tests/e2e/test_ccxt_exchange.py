"""ccxt's unified API against the local runtime through ``trading.ccxt_exchange`` (issue 16).

Every call goes over HTTP to the runtime's API Gateway (authorizer, usage-plan throttling, the
functions, the matcher); accounts and keys come from the admin function.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
from orders_support import Trader, new_trader, runtime_for, start_own_runtime, wait_for
from trading.ccxt_exchange import TradingExchange, register

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SYMBOL = "BTC/USD"


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


def exchange_for(runtime: Any, trader: Trader | None = None, **config: Any) -> TradingExchange:
    settings: dict[str, Any] = {"urls": {"api": {"rest": runtime.urls.rest}}, **config}
    if trader is not None:
        settings.update(apiKey=trader.key_id, secret=trader.secret)
    exchange = TradingExchange(settings)
    exchange.load_markets()
    return exchange


def quiet_bid(exchange: TradingExchange) -> float:
    """A price below every ask and above every bid (or far below the asks): a buy there rests."""
    book = exchange.fetch_order_book(SYMBOL, 1)
    ask = book["asks"][0][0] if book["asks"] else 50_000.0
    bid = book["bids"][0][0] if book["bids"] else ask / 2
    return round((bid + ask) / 2, 2) if ask - bid > 0.02 else round(bid - 100, 2)


def wait_status(exchange: TradingExchange, order_id: str, *statuses: str) -> dict[str, Any]:
    return dict(wait_for(lambda: (o := exchange.fetch_order(order_id, SYMBOL))["status"] in statuses and o))


def test_markets_carry_the_instruments_precision_limits_and_fees(runtime: Any) -> None:
    # Given the exchange class registered the way ccxt lists its own exchanges
    register()
    assert "trading" in ccxt.exchanges and ccxt.trading is TradingExchange
    # When the markets are loaded from GET /v1/instruments
    exchange = exchange_for(runtime)
    market = exchange.market(SYMBOL)
    instrument = market["info"]
    # Then ids, precision (tick sizes), limits and fees are the instrument's
    assert (market["id"], market["base"], market["quote"], market["spot"]) == ("BTC-USD", "BTC", "USD", True)
    assert market["precision"] == {
        "amount": float(instrument["lot_size"]),
        "price": float(instrument["tick_size"]),
    }
    assert market["limits"]["amount"] == {
        "min": float(instrument["min_quantity"]),
        "max": float(instrument["max_quantity"]),
    }
    assert market["limits"]["cost"]["min"] == float(instrument["min_notional"])
    assert market["taker"] == int(instrument["taker_fee_bps"]) / 10_000
    # And prices and amounts are put on the grid as strings
    assert exchange.price_to_precision(SYMBOL, 30000.123) == "30000.12"
    assert exchange.amount_to_precision(SYMBOL, 0.012345) == "0.0123"


def test_place_amend_list_cancel_and_trade_through_ccxt(runtime: Any) -> None:
    # Given a buyer and a seller with funds, and their ccxt exchanges
    buyer = new_trader(runtime, USD="100000")
    seller = new_trader(runtime, BTC="10")
    bx, sx = exchange_for(runtime, buyer), exchange_for(runtime, seller)
    assert bx.fetch_balance()["USD"] == {"free": 100000.0, "used": 0.0, "total": 100000.0}

    # When the buyer places a resting limit bid with a client order id
    price = quiet_bid(bx)
    client_id = f"ccxt-{uuid.uuid4().hex[:12]}"
    order = bx.create_order(
        SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": client_id, "stp": "cancel_both"}
    )
    # Then it is accepted, listed open, and funds are held
    assert (order["status"], order["clientOrderId"], order["side"], order["type"]) == (
        "open",
        client_id,
        "buy",
        "limit",
    )
    assert order["info"]["stp"] == "CANCEL_BOTH"
    wait_status(bx, order["id"], "open")
    assert [o["id"] for o in bx.fetch_open_orders(SYMBOL)] == [order["id"]]
    assert bx.fetch_balance()["USD"]["used"] > 0

    # When it is amended to a lower price and a smaller quantity
    lower = round(price - 0.01, 2)  # still above every other bid: the market sell below meets it
    edited = bx.edit_order(order["id"], SYMBOL, "limit", "buy", 0.005, lower)
    assert edited["id"] == order["id"]
    # Then the matcher applies it
    amended = dict(wait_for(lambda: (o := bx.fetch_order(order["id"], SYMBOL))["price"] == lower and o))
    assert (amended["amount"], amended["status"]) == (0.005, "open")

    # When the seller sells into it at market
    sold = sx.create_order(SYMBOL, "market", "sell", 0.005)
    # Then both orders close and the fills, trades, ticker and candles show the trade
    assert wait_status(bx, order["id"], "closed")["filled"] == 0.005
    assert wait_status(sx, sold["id"], "closed")["filled"] == 0.005
    mine = wait_for(lambda: bx.fetch_my_trades(SYMBOL))
    assert (mine[-1]["order"], mine[-1]["side"], mine[-1]["takerOrMaker"], mine[-1]["price"]) == (
        order["id"],
        "buy",
        "maker",
        lower,
    )
    assert mine[-1]["fee"]["currency"] == "USD"
    trades = bx.fetch_trades(SYMBOL, limit=5)
    assert trades[-1]["id"] == mine[-1]["id"] and trades[-1]["side"] == "sell"
    ticker = wait_for(lambda: (t := bx.fetch_ticker(SYMBOL))["last"] == lower and t)
    assert ticker["symbol"] == SYMBOL and ticker["baseVolume"] >= 0.005
    candles = wait_for(lambda: (c := bx.fetch_ohlcv(SYMBOL, "1m", limit=5)) and c[-1][4] == lower and c)
    assert candles[-1][5] >= 0.005
    assert [o["id"] for o in bx.fetch_closed_orders(SYMBOL)][-1] == order["id"]
    assert bx.fetch_open_orders(SYMBOL) == []


def test_post_only_ioc_market_buy_with_cost_and_cancel_all(runtime: Any) -> None:
    # Given a funded trader with two resting bids
    me = new_trader(runtime, USD="100000")
    ex = exchange_for(runtime, me)
    price = quiet_bid(ex)
    first = ex.create_order(SYMBOL, "limit", "buy", 0.01, price, {"postOnly": True})
    second = ex.create_order(SYMBOL, "limit", "buy", 0.01, round(price - 1, 2), {"timeInForce": "PO"})
    assert first["postOnly"] is True and second["postOnly"] is True
    ioc = ex.create_order(SYMBOL, "limit", "buy", 1, 1.0, {"timeInForce": "IOC"})
    assert ioc["timeInForce"] == "IOC"
    for order_id in (first["id"], second["id"]):
        wait_status(ex, order_id, "open")
    assert wait_status(ex, ioc["id"], "canceled")["filled"] == 0
    # When all BTC/USD orders are cancelled
    cancelled = ex.cancel_all_orders(SYMBOL)
    # Then exactly the two resting bids were cancelled
    assert sorted(o["id"] for o in cancelled) == sorted([first["id"], second["id"]])
    for order_id in (first["id"], second["id"]):
        wait_status(ex, order_id, "canceled")
    # And a market buy by cost is sent as a quote budget
    with pytest.raises(ccxt.InvalidOrder):
        ex.create_order(SYMBOL, "market", "buy", 0.01)  # neither cost nor price: ccxt's own check
    budget = ex.create_market_buy_order_with_cost(SYMBOL, 10)
    assert budget["info"]["quote_amount"] == "10.000000"


def test_api_error_codes_raise_ccxts_unified_exceptions(runtime: Any) -> None:
    # Given a poor trader, a read-only key and a key with a wrong secret
    poor = exchange_for(runtime, new_trader(runtime, USD="10"))
    reader = exchange_for(runtime, new_trader(runtime, scopes=("read",), USD="1000"))
    wrong = exchange_for(runtime, new_trader(runtime, USD="1000"))
    wrong.secret = "not-the-secret"
    price = quiet_bid(poor)
    # When each breaks a different rule, Then each gets its exception (and the API's code)
    with pytest.raises(ccxt.InsufficientFunds, match="INSUFFICIENT_FUNDS"):
        poor.create_order(SYMBOL, "limit", "buy", 1, price)
    with pytest.raises(ccxt.InvalidOrder, match="NOTIONAL_BELOW_MIN"):
        poor.create_order(SYMBOL, "limit", "buy", 0.0001, 1.0)
    with pytest.raises(ccxt.InvalidOrder, match="INVALID_AMEND"):
        order = poor.create_order(SYMBOL, "limit", "buy", 0.0001, round(min(price, 40000.0), 2))
        poor.edit_order(order["id"], SYMBOL, "limit", "buy", 0.01)
    with pytest.raises(ccxt.OrderNotFound, match="UNKNOWN_ORDER"):
        poor.fetch_order("0" * 32, SYMBOL)
    with pytest.raises(ccxt.OrderNotFound, match="UNKNOWN_ORDER"):
        poor.cancel_order("0" * 32, SYMBOL)
    with pytest.raises(ccxt.PermissionDenied, match="FORBIDDEN"):
        reader.create_order(SYMBOL, "limit", "buy", 0.01, price)
    with pytest.raises(ccxt.AuthenticationError, match="UNAUTHENTICATED"):
        wrong.fetch_balance()
    with pytest.raises(ccxt.BadSymbol):
        poor.fetch_order_book("NOPE/USD")
    # And a cancel of a terminal order is OrderNotFound (ORDER_NOT_OPEN)
    ioc = poor.create_order(SYMBOL, "limit", "buy", 0.001, 1000.0, {"timeInForce": "IOC"})
    wait_status(poor, ioc["id"], "canceled", "closed")
    with pytest.raises(ccxt.OrderNotFound, match="ORDER_NOT_OPEN"):
        poor.cancel_order(ioc["id"], SYMBOL)


def test_a_burst_past_the_keys_limit_is_rate_limit_exceeded(runtime: Any) -> None:
    # Given ccxt's own pacing switched off (it keeps to 10 requests/s by default)
    ex = exchange_for(runtime, new_trader(runtime, USD="10"), enableRateLimit=False)
    # When the key sends far more than its burst of 20 at once
    with pytest.raises(ccxt.RateLimitExceeded, match="RATE_LIMITED"):
        for _ in range(200):
            ex.fetch_balance()


def test_the_demo_script_places_amends_lists_and_cancels(
    runtime: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given scripts/ccxt_demo.py and a funded key
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "ccxt_demo.py"
    spec = importlib.util.spec_from_file_location("ccxt_demo", path)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    trader = new_trader(runtime, USD="100000")
    # When it runs against the runtime
    code = demo.main(["--url", runtime.urls.rest, "--key", trader.key_id, "--secret", trader.secret])
    # Then every step printed its line and it ended well
    # (the in-process functions print their JSON log lines to the same stdout)
    steps = [line.split()[0] for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    assert code == 0
    assert steps == [
        "markets",
        "book",
        "balance",
        "placed",
        "open",
        "amended",
        "listed",
        "canceled",
        "closed",
        "again",
    ]
