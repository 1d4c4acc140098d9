"""A batch whose writes exceed TransactWriteItems' item limit: markers stay atomic, the rest is deferred.

The store's limit is lowered from 100 to 20 so a sweep of 24 makers reaches the split without
hundreds of events through moto; the code path is the same.
"""

from __future__ import annotations

import pytest
from matcher_cloud import by_type, check_exactly_once, limit
from matcher_service.model import OrderWrite
from trading.domain.enums import OrderStatus, OrderType, Side
from trading.domain.instruments import demo_instruments
from trading.engine.commands import NewOrder
from trading.engine.rules import Grid, holding


def market_buy(order_id: str, quantity: int) -> NewOrder:
    """A market buy for ``quantity`` with a budget far above any price it meets."""
    order = NewOrder(
        order_id, "taker", "BTC-USD", Side.BUY, OrderType.MARKET, None, quantity, quote_budget=10**15
    )
    return holding(Grid(demo_instruments()[0]), order)


def test_a_sweep_beyond_the_transaction_item_limit_commits_and_projects_every_write(cloud, make_matcher):
    # Given 24 one-lot asks at 24 different prices
    matcher = make_matcher(transact_limit=20)
    matcher.recover()
    asks = [limit(f"a{n:03d}", f"maker{n % 7}", Side.SELL, 3_000_000 + n, 1) for n in range(24)]
    cloud.send_many(asks)
    while matcher.poll_once():
        pass

    # When one market buy sweeps all of them (25 order items + 24 levels + outbox + checkpoint)
    sweep = market_buy("sweep", 24)
    cloud.send(sweep)
    matcher.poll_once()

    # Then every order, level and event is as if it had been one transaction
    events = check_exactly_once(cloud, "BTC-USD", [o.order_id for o in [*asks, sweep]])
    orders = cloud.all_orders()
    assert {orders[o.order_id]["status"] for o in [*asks, sweep]} == {"FILLED"}
    assert cloud.levels("BTC-USD") == {}
    assert len(by_type(events, "TradeExecuted")) == 24


def test_deferred_writes_left_by_a_crash_are_applied_by_recovery(cloud, make_matcher):
    # Given a matcher that commits an oversized batch and dies before applying the deferred writes
    first = make_matcher(transact_limit=20)
    first.recover()
    asks = [limit(f"a{n:03d}", "maker", Side.SELL, 3_000_000 + n, 1) for n in range(22)]
    cloud.send_many(asks)
    while first.poll_once():
        pass
    sweep = market_buy("sweep", 22)
    cloud.send(sweep)

    class CrashError(Exception):
        pass

    def crash(point: str) -> None:
        if point == "after_commit":
            raise CrashError(point)

    first._crash = crash
    with pytest.raises(CrashError):
        first.poll_once()
    deferred_left = [
        k for k, v in cloud.book_items("BTC-USD").items() if k.startswith("outbox#") and "deferred" in v
    ]
    assert deferred_left, "the batch should have needed deferred writes"

    # When a new matcher recovers
    second = make_matcher(transact_limit=20)
    second.recover()

    # Then the deferred writes landed and the outbox was published once
    check_exactly_once(cloud, "BTC-USD", [o.order_id for o in [*asks, sweep]])
    assert cloud.levels("BTC-USD") == {}


def test_a_late_deferred_write_never_overwrites_a_newer_state(cloud, make_matcher):
    # Given an order that was filled at some seq
    from matcher_service.store import OutboxItem, _order_update

    matcher = make_matcher()
    matcher.recover()
    cloud.send(limit("s1", "alice", Side.SELL, 3_000_000, 1))
    cloud.send(limit("b1", "bob", Side.BUY, 3_000_000, 1))
    matcher.poll_once()
    filled = cloud.order("s1")
    assert filled["status"] == "FILLED"

    # When a stale deferred write (its state as of an older seq) is replayed
    stale_view = matcher.books["BTC-USD"].views.get("s1") or _view_of(filled)
    stale_view.status, stale_view.seq, stale_view.remaining = OrderStatus.OPEN, filled["seq"] - 1, 1
    _, deferred = _order_update(cloud.names["orders"], OrderWrite("s1", stale_view), "t", fenced_by_seq=True)
    box = OutboxItem("BTC-USD", "outbox#00000000000000000999", [], [deferred], 0)
    matcher.store.apply_deferred(box)

    # Then the newer state stands
    assert cloud.order("s1")["status"] == "FILLED"
    assert cloud.order("s1")["seq"] == filled["seq"]


def _view_of(item):
    from matcher_service.store import view_from_item

    return view_from_item(item)
