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
