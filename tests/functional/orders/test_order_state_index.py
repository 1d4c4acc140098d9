"""GET /v1/orders?open=true / ?status=...: full pages from the ``by-account-state`` index (issue 16).

The orders are written by intake (``POST /v1/orders``) and moved on by the matcher's own update
builder (``matcher_service.store._order_update``), so the index attribute is exactly what production
writes; the tables come from the template on moto.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from matcher_service.model import OrderWrite
from matcher_service.store import _order_update, view_from_item
from order_stack import OrderStack, api_event, call, load_function, sample_event
from trading.adapters.dynamo import plain
from trading.domain.enums import OrderStatus

BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "1000.00", "quantity": "0.0010"}


@pytest.fixture
def api(order_stack: OrderStack):
    modules = {name: load_function(name) for name in ("place_order", "account_queries")}
    template = sample_event("account_queries", "balances")

    def _call(
        function: str,
        method: str,
        *,
        body: dict | None = None,
        query: dict | None = None,
        account_id: str = "alice",
    ) -> tuple[int, Any]:
        event = api_event(
            template,
            method=method,
            path="/v1/orders",
            resource="/v1/orders",
            body=json.dumps(body) if body is not None else None,
            query=query,
            account_id=account_id,
            scopes="read,trade",
        )
        return call(modules[function], event)

    return _call


def place(api, account_id: str = "alice", **overrides: str) -> str:
    status, body = api("place_order", "POST", body={**BUY, **overrides}, account_id=account_id)
    assert status == 201, body
    return str(body["order_id"])


def matcher_sets(order_id: str, status: OrderStatus) -> None:
    """What the matcher's commit writes for the order in ``status`` (one Update, as in its batch)."""
    from trading.adapters import aws
    from trading.api import wiring

    table = wiring.orders()._table
    item = table.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]
    view = view_from_item(plain(item))
    view.status = status
    view.remaining = 0 if status.is_terminal else view.quantity
    view.seq += 1
    update, _ = _order_update(table.name, OrderWrite(order_id=order_id, view=view), "2026-12-01T00:00:00Z")
    update.pop("ConditionExpression", None)
    aws.client("dynamodb").update_item(**update)


def flat(pages_: list[list[str]]) -> list[str]:
    return [order_id for page in pages_ for order_id in page]


def pages(api, query: dict[str, str], account_id: str = "alice") -> list[list[str]]:
    found: list[list[str]] = []
    cursor = None
    while True:
        status, body = api(
            "account_queries",
            "GET",
            query={**query, **({"cursor": cursor} if cursor else {})},
            account_id=account_id,
        )
        assert status == 200, body
        found.append([o["order_id"] for o in body["orders"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_open_orders_older_than_many_terminal_ones_come_in_full_pages(order_stack: OrderStack, api) -> None:
    # Given two open bids of alice, then 120 newer orders the matcher finished (IOC, cancelled)
    order_stack.fund("alice", USD="100000")
    order_stack.fund("bob", USD="1000")
    resting = [place(api), place(api, price="1001.00")]
    for order_id in resting:
        matcher_sets(order_id, OrderStatus.OPEN)
    finished = [place(api, time_in_force="IOC") for _ in range(120)]
    for order_id in finished:
        matcher_sets(order_id, OrderStatus.CANCELED)
    place(api, account_id="bob")  # another account's open order

    # When alice lists her open orders, 100 a page (what the web UI asks for)
    open_pages = pages(api, {"open": "true", "limit": "100"})
    # Then the first page holds both bids, newest first, and nothing else of hers or bob's
    assert open_pages[0] == list(reversed(resting)) and flat(open_pages) == list(reversed(resting))

    # And status=OPEN (a live status) reads the same partition
    assert flat(pages(api, {"status": "OPEN", "limit": "1"})) == list(reversed(resting))
    # And a terminal status reads full pages of exactly that status
    canceled = pages(api, {"status": "CANCELED", "limit": "50"})
    assert [len(p) for p in canceled[:3]] == [50, 50, 20]
    assert flat(canceled) == list(reversed(finished))
    # And the whole history (no filter) still lists all 122, newest first
    assert len(flat(pages(api, {"limit": "200"}))) == 122


def test_a_filled_order_leaves_the_open_partition_and_a_symbol_filter_fills_pages(
    order_stack: OrderStack, api
) -> None:
    # Given alternate BTC and ETH open orders; the oldest BTC one then fills
    order_stack.fund("alice", USD="100000")
    btc = [place(api) for _ in range(3)]
    eth = [place(api, symbol="ETH-USD", price="100.00", quantity="0.010") for _ in range(3)]
    matcher_sets(btc[0], OrderStatus.FILLED)
    # When alice lists her open BTC orders one at a time
    found = pages(api, {"open": "true", "symbol": "BTC-USD", "limit": "1"})
    # Then every page but a possible empty last one is full, and the filled order is gone
    assert [p for p in found if p] == [[btc[2]], [btc[1]]]
    assert all(len(p) == 1 for p in found[:-1])
    # And it is listed as FILLED
    assert flat(pages(api, {"status": "FILLED"})) == [btc[0]]
    assert len(flat(pages(api, {"open": "true", "symbol": "ETH-USD"}))) == len(eth)


def test_cursors_are_bound_to_account_and_partition_and_open_excludes_status(
    order_stack: OrderStack, api
) -> None:
    # Given alice with two open orders and one cancelled one
    order_stack.fund("alice", USD="100000")
    ids = [place(api) for _ in range(3)]
    matcher_sets(ids[0], OrderStatus.CANCELED)
    status, first = api("account_queries", "GET", query={"open": "true", "limit": "1"})
    assert status == 200 and first["next_cursor"], first
    # When the cursor is replayed by bob, or for another status, or another list
    replays = [
        api(
            "account_queries", "GET", query={"open": "true", "cursor": first["next_cursor"]}, account_id="bob"
        ),
        api("account_queries", "GET", query={"status": "CANCELED", "cursor": first["next_cursor"]}),
        api("account_queries", "GET", query={"cursor": first["next_cursor"]}),
    ]
    # Then each is 400 INVALID_CURSOR
    assert [(s, b["code"]) for s, b in replays] == [(400, "INVALID_CURSOR")] * 3
    # And open=true with a status, or open=yes, is a 400 too
    both = api("account_queries", "GET", query={"open": "true", "status": "OPEN"})
    yes = api("account_queries", "GET", query={"open": "yes"})
    assert both[0] == 400 and both[1]["code"] == "VALIDATION_ERROR"
    assert yes[0] == 400 and yes[1]["code"] == "VALIDATION_ERROR"


def test_the_sweeper_moves_an_expired_pending_order_to_rejected(order_stack: OrderStack, api) -> None:
    # Given a PENDING order the matcher never saw
    from trading.api import wiring
    from trading.ledger.orders import DynamoOrdersLookup

    order_stack.fund("alice", USD="100000")
    order_id = place(api)
    assert flat(pages(api, {"open": "true"})) == [order_id]
    # When the hold sweeper expires it
    assert DynamoOrdersLookup(wiring.orders()._table.name).expire_pending(order_id)
    # Then it leaves the open list and is listed as REJECTED
    assert flat(pages(api, {"open": "true"})) == []
    assert flat(pages(api, {"status": "REJECTED"})) == [order_id]


def test_the_backfill_puts_orders_from_before_the_index_into_it(order_stack: OrderStack, api) -> None:
    # Given orders written before the index existed (no account_state), and one written after
    import importlib.util
    from pathlib import Path

    from trading.api import wiring

    table = wiring.orders()._table
    order_stack.fund("alice", USD="100000")
    current = place(api)
    for order_id, status in (("legacy-open", "OPEN"), ("legacy-filled", "FILLED")):
        table.put_item(
            Item={
                "order_id": order_id,
                "account_id": "alice",
                "symbol": "BTC-USD",
                "side": "BUY",
                "order_type": "LIMIT",
                "price": 100000,
                "quantity": 10,
                "status": status,
                "created_at": "2026-01-01T00:00:00.000000Z",
                "updated_at": "2026-01-01T00:00:00.000000Z",
            }
        )
    assert flat(pages(api, {"open": "true"})) == [current]  # the legacy open order is invisible
    path = Path(__file__).resolve().parents[3] / "scripts" / "backfill_order_state.py"
    spec = importlib.util.spec_from_file_location("backfill_order_state", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # When the backfill runs (a dry run first changes nothing)
    dry = script.backfill(table.name, dry_run=True, page_size=1)
    assert flat(pages(api, {"open": "true"})) == [current]
    counts = script.backfill(table.name, page_size=1)
    # Then both legacy orders are in their partitions, and a second run finds nothing to do
    assert (dry["updated"], counts["updated"], counts["already"]) == (2, 2, 1)
    assert flat(pages(api, {"open": "true"})) == [current, "legacy-open"]
    assert flat(pages(api, {"status": "FILLED"})) == ["legacy-filled"]
    assert script.backfill(table.name)["updated"] == 0
