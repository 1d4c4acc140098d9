"""The hold sweeper: releases holds of ended orders (once settled) and of orders that never existed."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger_world import World, terminal_order, trade
from trading.domain.enums import Side
from trading.ledger import settle_trades, sweep_holds

LATER = datetime.now(UTC) + timedelta(hours=1)


class FakeOrders:
    """In-memory ``Orders`` table."""

    def __init__(self, items: Mapping[str, Mapping[str, Any]]) -> None:
        self.items = dict(items)
        self.asked: list[str] = []

    def get_orders(self, order_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        self.asked.extend(order_ids)
        return {oid: self.items[oid] for oid in order_ids if oid in self.items}

    def expire_pending(self, order_id: str) -> bool:
        item = self.items.get(order_id)
        if item is None or item["status"] != "PENDING":
            return False
        self.items[order_id] = {**item, "status": "REJECTED", "reject_code": "INTAKE_EXPIRED"}
        return True


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_terminal_orders_are_archived_and_released_once_their_fills_settle(world: World) -> None:
    # Given a filled buy whose fill is not settled yet, a canceled sell, and a still-open sell
    world.account("buyer", USD=20_000_000_000)
    world.account("seller", BTC=100_000_000)
    world.order_hold("buy-1", "buyer", Side.BUY, 3_000_000, 5_000)
    world.order_hold("sell-1", "seller", Side.SELL, 3_000_000, 5_000)
    world.order_hold("sell-2", "seller", Side.SELL, 3_100_000, 1_000)
    orders = FakeOrders(
        {
            "buy-1": terminal_order("buy-1", "buyer", Side.BUY, filled=5_000),
            "sell-1": terminal_order("sell-1", "seller", Side.SELL, filled=5_000),
            "sell-2": {**terminal_order("sell-2", "seller", Side.SELL, filled=0), "status": "OPEN"},
        }
    )
    # When the sweeper runs before settlement
    first = sweep_holds(world.conn, orders, now=LATER)
    # Then nothing is released (fills unsettled) but the terminal orders are archived
    assert first.released == [] and sorted(first.waiting) == ["buy-1", "sell-1"]
    assert world.scalar("SELECT count(*) FROM order_history") == 2
    # When the fill settles (which itself releases, as the orders are archived) and the sweeper runs again
    with world.conn:
        released = settle_trades(
            world.conn, [trade(1, 3_000_000, 5_000, Side.BUY, ("seller", "sell-1"), ("buyer", "buy-1"))]
        ).released_holds
    second = sweep_holds(world.conn, orders, now=LATER)
    # Then the holds were released by settlement, and the open order keeps its hold
    assert released == ["buy-1", "sell-1"]
    assert second.examined == 1 and second.released == []
    assert world.hold_state("sell-2")[1] == "ACTIVE"
    assert world.balance("seller", "BTC") == (40_000_000, 10_000_000)


def test_a_hold_whose_order_never_reached_the_table_is_released_after_the_grace_period(world: World) -> None:
    # Given a hold without an order item (intake crashed after holding)
    world.account("buyer", USD=1_000)
    world.hold("ghost", "buyer", "USD", "BTC-USD", 600)
    orders = FakeOrders({})
    # When the sweeper runs within the grace period / Then it is left alone
    assert sweep_holds(world.conn, orders).examined == 0
    # When it runs after the grace period / Then the hold is released
    result = sweep_holds(world.conn, orders, now=LATER)
    assert result.orphaned == ["ghost"]
    assert world.balance("buyer", "USD") == (1_000, 0)
    assert world.hold_state("ghost") == (0, "CLOSED")


def test_the_sweeper_walks_every_page_of_old_holds(world: World) -> None:
    # Given 25 orphaned holds and a page size of 10
    world.account("buyer", USD=1_000)
    for n in range(25):
        world.hold(f"ghost-{n:02d}", "buyer", "USD", "BTC-USD", 10)
    # When the sweeper runs after the grace period
    result = sweep_holds(world.conn, FakeOrders({}), page_size=10, now=LATER)
    # Then all 25 were examined and released
    assert result.examined == 25 and len(result.released) == 25
    assert world.balance("buyer", "USD") == (1_000, 0)


def test_an_order_left_pending_past_the_timeout_is_rejected_and_released(world: World) -> None:
    # Given two PENDING orders whose sends failed (holds kept): one 20 minutes old, one 1 minute old
    world.account("buyer", USD=20_000_000_000)
    world.order_hold("stale", "buyer", Side.BUY, 3_000_000, 1_000)
    fresh_amount = world.order_hold("fresh", "buyer", Side.BUY, 3_000_000, 1_000)
    orders = FakeOrders(
        {
            "stale": {**terminal_order("stale", "buyer", Side.BUY, 0, status="PENDING"),
                      "created_at": _iso(LATER - timedelta(minutes=20))},
            "fresh": {**terminal_order("fresh", "buyer", Side.BUY, 0, status="PENDING"),
                      "created_at": _iso(LATER - timedelta(minutes=1))},
        }
    )  # fmt: skip
    # When the sweeper runs with a 10-minute pending timeout
    result = sweep_holds(world.conn, orders, pending_timeout=timedelta(minutes=10), now=LATER)
    # Then the stale order is REJECTED (INTAKE_EXPIRED) and its hold released; the fresh one is untouched
    assert result.expired == ["stale"] and result.released == ["stale"]
    assert orders.items["stale"]["status"] == "REJECTED"
    assert orders.items["stale"]["reject_code"] == "INTAKE_EXPIRED"
    assert world.hold_state("stale") == (0, "CLOSED")
    assert orders.items["fresh"]["status"] == "PENDING"
    assert world.hold_state("fresh")[1] == "ACTIVE"
    assert world.balance("buyer", "USD") == (20_000_000_000 - fresh_amount, fresh_amount)


def test_a_pending_order_the_matcher_accepts_first_keeps_its_hold(world: World) -> None:
    # Given a stale PENDING order that the matcher puts on the book before the sweeper's write
    world.account("buyer", USD=20_000_000_000)
    world.order_hold("late", "buyer", Side.BUY, 3_000_000, 1_000)

    class MatcherWinsOrders(FakeOrders):
        def expire_pending(self, order_id: str) -> bool:
            self.items[order_id] = {**self.items[order_id], "status": "OPEN"}
            return super().expire_pending(order_id)

    orders = MatcherWinsOrders(
        {"late": {**terminal_order("late", "buyer", Side.BUY, 0, status="PENDING"),
                  "created_at": _iso(LATER - timedelta(hours=2))}}
    )  # fmt: skip
    # When the sweeper runs
    result = sweep_holds(world.conn, orders, now=LATER)
    # Then the conditional write lost: the order stays OPEN and keeps its hold
    assert result.expired == [] and result.released == []
    assert orders.items["late"]["status"] == "OPEN"
    assert world.hold_state("late")[1] == "ACTIVE"
