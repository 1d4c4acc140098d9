"""cancel_order, amend_order, account_queries and market_data handlers in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from order_stack import OrderStack, api_event, call, load_function, sample_event

LIMIT_BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}


@pytest.fixture
def api(order_stack: OrderStack):
    """Call any route of the order-entry functions the way API Gateway would."""
    modules = {
        name: load_function(name)
        for name in ("place_order", "cancel_order", "amend_order", "account_queries", "market_data")
    }
    template = sample_event("account_queries", "balances")

    def _call(
        function: str,
        method: str,
        path: str,
        resource: str,
        *,
        body: dict | None = None,
        path_parameters: dict | None = None,
        query: dict | None = None,
        account_id: str = "alice",
        scopes: str = "read,trade",
    ) -> tuple[int, dict]:
        event = api_event(
            template,
            method=method,
            path=path,
            resource=resource,
            body=json.dumps(body) if body is not None else None,
            path_parameters=path_parameters,
            query=query,
            account_id=account_id,
            scopes=scopes,
        )
        return call(modules[function], event)

    return _call


def place(api, account_id: str = "alice", **overrides) -> dict:
    status, body = api(
        "place_order",
        "POST",
        "/v1/orders",
        "/v1/orders",
        body={**LIMIT_BUY, **overrides},
        account_id=account_id,
    )
    assert status == 201, body
    return body


def set_status(order_id: str, status: str) -> None:
    from trading.api import wiring

    wiring.orders()._table.update_item(
        Key={"order_id": order_id},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": status},
    )


def test_cancel_queues_a_cancel_command_in_the_orders_group(order_stack: OrderStack, api) -> None:
    # Given an open order of alice
    order_stack.fund("alice", USD="1000")
    order = place(api)
    order_stack.receive_commands()
    # When she cancels it
    oid = order["order_id"]
    status, body = api(
        "cancel_order",
        "DELETE",
        f"/v1/orders/{oid}",
        "/v1/orders/{order_id}",
        path_parameters={"order_id": oid},
    )
    # Then 202, and one cancel command is queued in the same group as the order
    assert status == 202 and body == {"order_id": oid, "status": "PENDING", "cancel_requested": True}
    [command] = order_stack.receive_commands()
    assert command["type"] == "cancel" and command["order_id"] == oid and command["_group"] == "BTC-USD"


def test_cancel_of_another_accounts_order_is_unknown(order_stack: OrderStack, api) -> None:
    # Given bob's order
    order_stack.fund("bob", USD="1000")
    oid = place(api, account_id="bob")["order_id"]
    order_stack.receive_commands()
    # When alice tries to cancel it (or an id that does not exist)
    for target in (oid, "does-not-exist"):
        status, body = api(
            "cancel_order",
            "DELETE",
            f"/v1/orders/{target}",
            "/v1/orders/{order_id}",
            path_parameters={"order_id": target},
        )
        # Then 404 UNKNOWN_ORDER, and nothing is queued
        assert (status, body["code"]) == (404, "UNKNOWN_ORDER")
    assert order_stack.receive_commands() == []


def test_cancel_of_a_terminal_order_is_409(order_stack: OrderStack, api) -> None:
    # Given a filled order
    order_stack.fund("alice", USD="1000")
    oid = place(api)["order_id"]
    set_status(oid, "FILLED")
    # When alice cancels it
    status, body = api(
        "cancel_order",
        "DELETE",
        f"/v1/orders/{oid}",
        "/v1/orders/{order_id}",
        path_parameters={"order_id": oid},
    )
    # Then 409 ORDER_NOT_OPEN
    assert (status, body["code"]) == (409, "ORDER_NOT_OPEN")


def test_cancel_all_cancels_only_live_orders_of_the_symbol(order_stack: OrderStack, api) -> None:
    # Given two live BTC orders, one filled BTC order and one ETH order
    order_stack.fund("alice", USD="10000")
    live = [place(api)["order_id"], place(api, price="29000.00")["order_id"]]
    filled = place(api, price="28000.00")["order_id"]
    set_status(filled, "FILLED")
    place(api, symbol="ETH-USD", price="2000.00", quantity="0.010")
    order_stack.receive_commands()
    # When alice cancels all BTC-USD orders
    status, body = api("cancel_order", "DELETE", "/v1/orders", "/v1/orders", query={"symbol": "BTC-USD"})
    # Then exactly the live BTC orders get cancel commands
    assert status == 202 and sorted(body["order_ids"]) == sorted(live)
    assert sorted(c["order_id"] for c in order_stack.receive_commands()) == sorted(live)


def test_amend_queues_an_amend_with_integer_units(order_stack: OrderStack, api) -> None:
    # Given an order for 0.01 BTC
    order_stack.fund("alice", USD="1000")
    oid = place(api)["order_id"]
    order_stack.receive_commands()
    # When alice reduces it to 0.005 BTC
    status, body = api(
        "amend_order",
        "PATCH",
        f"/v1/orders/{oid}",
        "/v1/orders/{order_id}",
        body={"quantity": "0.0050"},
        path_parameters={"order_id": oid},
    )
    # Then 202 and an amend command with quantity 50 lots; the unchanged price is left out
    assert status == 202 and body["quantity"] == "0.0050", body
    [command] = order_stack.receive_commands()
    assert command == {
        "type": "amend",
        "order_id": oid,
        "account_id": "alice",
        "symbol": "BTC-USD",
        "quantity": 50,
        "_group": "BTC-USD",
        "_dedup": command["_dedup"],
    }


def test_amend_above_the_hold_is_rejected(order_stack: OrderStack, api) -> None:
    # Given a buy for 0.01 BTC at 30000
    order_stack.fund("alice", USD="1000")
    oid = place(api)["order_id"]
    order_stack.receive_commands()
    # When alice tries to double it
    status, body = api(
        "amend_order",
        "PATCH",
        f"/v1/orders/{oid}",
        "/v1/orders/{order_id}",
        body={"quantity": "0.0200"},
        path_parameters={"order_id": oid},
    )
    # Then 422 INVALID_AMEND, nothing queued
    assert (status, body["code"]) == (422, "INVALID_AMEND")
    assert order_stack.receive_commands() == []


def matcher_wrote(order_id: str, quantity: int, filled: int) -> None:
    """The matcher's state of the order as it writes it (total = filled + open)."""
    from trading.api import wiring

    wiring.orders()._table.update_item(
        Key={"order_id": order_id},
        UpdateExpression="SET quantity = :q, filled_quantity = :f, #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":q": quantity,
            ":f": filled,
            ":s": "PARTIALLY_FILLED" if filled else "OPEN",
        },
    )


def amend(api, oid: str, **body: str) -> tuple[int, dict]:
    status, answer = api(
        "amend_order",
        "PATCH",
        f"/v1/orders/{oid}",
        "/v1/orders/{order_id}",
        body=body,
        path_parameters={"order_id": oid},
    )
    return status, answer


def test_an_amend_that_reopens_filled_quantity_is_rejected_at_intake(order_stack: OrderStack, api) -> None:
    # Given a buy for 0.0100 BTC, 0.0060 of it filled (issue 12's reproduction)
    order_stack.fund("alice", USD="1000")
    oid = place(api)["order_id"]
    order_stack.receive_commands()
    matcher_wrote(oid, quantity=100, filled=60)
    # When alice asks for an open quantity of 0.0100 again, then for the 0.0040 that is open
    reopened = amend(api, oid, quantity="0.0100")
    kept = amend(api, oid, quantity="0.0040")
    # Then the first is rejected without a command, the second queued
    assert (reopened[0], reopened[1]["code"]) == (422, "INVALID_AMEND")
    assert kept[0] == 202, kept
    assert [c["quantity"] for c in order_stack.receive_commands()] == [40]


def test_an_order_reduced_can_grow_back_within_its_hold(order_stack: OrderStack, api) -> None:
    # Given a buy for 0.0100 BTC that the matcher has reduced to 0.0050 (nothing filled)
    order_stack.fund("alice", USD="1000")
    oid = place(api)["order_id"]
    order_stack.receive_commands()
    matcher_wrote(oid, quantity=50, filled=0)
    # When alice raises it back to 0.0100, and then beyond
    back = amend(api, oid, quantity="0.0100")
    beyond = amend(api, oid, quantity="0.0101")
    # Then what the original hold covers is accepted, one lot more is not
    assert back[0] == 202, back
    assert (beyond[0], beyond[1]["code"]) == (422, "INVALID_AMEND")


def test_orders_are_listed_newest_first_with_a_cursor(order_stack: OrderStack, api) -> None:
    # Given three orders of alice and one of bob
    order_stack.fund("alice", USD="10000")
    order_stack.fund("bob", USD="10000")
    ids = [place(api, price=f"{29000 + i}.00")["order_id"] for i in range(3)]
    place(api, account_id="bob")
    # When alice pages through her orders two at a time
    status, first = api("account_queries", "GET", "/v1/orders", "/v1/orders", query={"limit": "2"})
    assert status == 200, first
    status, second = api(
        "account_queries",
        "GET",
        "/v1/orders",
        "/v1/orders",
        query={"limit": "2", "cursor": first["next_cursor"]},
    )
    # Then she sees exactly her three orders, newest first
    seen = [o["order_id"] for o in first["orders"] + second["orders"]]
    assert seen == list(reversed(ids))
    # And a single order is readable; bob's is not
    status, one = api(
        "account_queries",
        "GET",
        f"/v1/orders/{ids[0]}",
        "/v1/orders/{order_id}",
        path_parameters={"order_id": ids[0]},
    )
    assert status == 200 and one["price"] == "29000.00" and one["filled_quantity"] == "0.0000"


def test_balances_show_available_and_held(order_stack: OrderStack, api) -> None:
    # Given alice with 1000 USD and one resting buy
    order_stack.fund("alice", USD="1000")
    place(api)
    # When she reads her balances
    status, body = api("account_queries", "GET", "/v1/balances", "/v1/balances")
    # Then USD shows 300.60 held (300 + 0.2% fee) and the rest available
    usd = next(b for b in body["balances"] if b["asset"] == "USD")
    assert status == 200 and usd == {
        "asset": "USD",
        "available": "699.400000",
        "held": "300.600000",
        "total": "1000.000000",
    }


def test_queries_need_the_read_scope(order_stack: OrderStack, api) -> None:
    # Given a trade-only key / When it reads balances / Then 403
    status, body = api("account_queries", "GET", "/v1/balances", "/v1/balances", scopes="trade")
    assert (status, body["code"]) == (403, "FORBIDDEN")


def test_fills_come_from_the_trades_table(order_stack: OrderStack, api) -> None:
    # Given a settled trade with alice as taker (buy) and bob as maker
    conn = order_stack.connect()
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO trades (trade_id, symbol, seq, price, quantity, taker_side, maker_order_id,"
            " taker_order_id, maker_account_id, taker_account_id, maker_fee, taker_fee, executed_at)"
            " VALUES ('BTC-USD:7', 'BTC-USD', 7, 3000000, 100, 'BUY', 'm1', 't1', 'bob', 'alice',"
            " 3000, 6000, %s)",
            (datetime.now(UTC) - timedelta(minutes=1),),
        )
    conn.close()
    # When both read their fills
    _, alice = api("account_queries", "GET", "/v1/fills", "/v1/fills")
    _, bob = api("account_queries", "GET", "/v1/fills", "/v1/fills", account_id="bob")
    # Then each sees their side of it
    assert alice["fills"][0] | {"executed_at": None} == {
        "trade_id": "BTC-USD:7",
        "symbol": "BTC-USD",
        "order_id": "t1",
        "side": "BUY",
        "liquidity": "TAKER",
        "price": "30000.00",
        "quantity": "0.0100",
        "fee": "0.006000",
        "fee_asset": "USD",
        "executed_at": None,
    }
    assert (bob["fills"][0]["side"], bob["fills"][0]["liquidity"], bob["fills"][0]["fee"]) == (
        "SELL",
        "MAKER",
        "0.003000",
    )
    # And the public trades, candles and ticker routes show it
    _, candles = api(
        "market_data",
        "GET",
        "/v1/candles/BTC-USD",
        "/v1/candles/{symbol}",
        path_parameters={"symbol": "BTC-USD"},
        query={"interval": "1h", "limit": "24"},
    )
    assert [(c["open"], c["close"], c["volume"], c["quote_volume"]) for c in candles["candles"]] == [
        ("30000.00", "30000.00", "0.0100", "300.000000")
    ]
    status, ticker = api(
        "market_data",
        "GET",
        "/v1/ticker/BTC-USD",
        "/v1/ticker/{symbol}",
        path_parameters={"symbol": "BTC-USD"},
    )
    assert status == 200 and ticker["last"] == "30000.00"
    status, bad = api(
        "market_data",
        "GET",
        "/v1/candles/BTC-USD",
        "/v1/candles/{symbol}",
        path_parameters={"symbol": "BTC-USD"},
        query={"interval": "7m"},
    )
    assert (status, bad["code"]) == (400, "VALIDATION_ERROR")
    _, trades = api(
        "market_data",
        "GET",
        "/v1/trades/BTC-USD",
        "/v1/trades/{symbol}",
        path_parameters={"symbol": "BTC-USD"},
    )
    assert [t["trade_id"] for t in trades["trades"]] == ["BTC-USD:7"]


def test_book_reads_the_matchers_levels(order_stack: OrderStack, api) -> None:
    # Given L2 levels as the matcher writes them
    from trading.api import wiring

    table = wiring.order_books()._table
    for side, price, qty in [
        ("BUY", 2999900, 5),
        ("BUY", 3000000, 7),
        ("SELL", 3000100, 3),
        ("SELL", 3000200, 0),
    ]:
        table.put_item(Item={"symbol": "BTC-USD", "sk": f"level#{side}#{price:020d}", "quantity": qty})
    table.put_item(Item={"symbol": "BTC-USD", "sk": "checkpoint", "seq": 42})
    # When the book is read
    status, book = api(
        "market_data",
        "GET",
        "/v1/book/BTC-USD",
        "/v1/book/{symbol}",
        path_parameters={"symbol": "BTC-USD"},
        query={"depth": "5"},
    )
    # Then bids are best first, empty levels are gone
    assert status == 200
    assert book == {
        "symbol": "BTC-USD",
        "seq": 42,
        "bids": [{"price": "30000.00", "quantity": "0.0007"}, {"price": "29999.00", "quantity": "0.0005"}],
        "asks": [{"price": "30001.00", "quantity": "0.0003"}],
    }


def test_instruments_and_unknown_symbol(order_stack: OrderStack, api) -> None:
    status, body = api("market_data", "GET", "/v1/instruments", "/v1/instruments")
    assert status == 200 and [i["symbol"] for i in body["instruments"]] == ["BTC-USD", "ETH-USD"]
    assert body["instruments"][0]["tick_size"] == "0.01"
    status, body = api(
        "market_data", "GET", "/v1/book/XRP-USD", "/v1/book/{symbol}", path_parameters={"symbol": "XRP-USD"}
    )
    assert (status, body["code"]) == (400, "UNKNOWN_SYMBOL")


def test_openapi_route_serves_the_committed_document(order_stack: OrderStack, api, repo_root) -> None:
    status, body = api("market_data", "GET", "/v1/openapi.json", "/v1/openapi.json")
    assert status == 200
    assert body == json.loads((repo_root / "docs" / "openapi.json").read_text())
