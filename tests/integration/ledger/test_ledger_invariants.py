"""Invariants under a randomized multi-account trading run.

A small price-time matcher in this file (not the production engine, so the ledger is tested on
its own) produces hundreds of orders across two instruments and many accounts. Funds are held
as order intake does; trades are delivered out of order, in random batches, some twice; terminal
orders are archived at random points before or after their fills settle. After settlement
drains: reconciliation is clean, no balance is negative, each asset's total equals the
deposits (fees only moved to the fee account), every fill is settled exactly once and every
terminal order's hold is released.
"""

import random
from dataclasses import dataclass
from typing import Any

import pytest
from ledger_world import INSTRUMENTS, World, trade
from trading.domain.enums import Side
from trading.domain.instruments import Instrument
from trading.ledger import archive_order, reconcile, settle_trades

ACCOUNTS = [f"acct{n}" for n in range(8)]
DEPOSITS = {"USD": 2_000_000_000_000, "BTC": 2_000_000_000, "ETH": 20_000_000_000}
MID = {"BTC-USD": 3_000_000, "ETH-USD": 200_000}


@dataclass
class Order:
    order_id: str
    account_id: str
    symbol: str
    side: Side
    price: int
    quantity: int
    filled: int = 0
    status: str = "OPEN"

    def snapshot(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "order_type": "LIMIT",
            "status": self.status,
            "price": self.price,
            "quantity": self.quantity,
            "filled_quantity": self.filled,
        }


class Market:
    """Price-time priority limit books with cancel-newest self-trade prevention."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.books: dict[str, dict[Side, list[Order]]] = {s: {Side.BUY: [], Side.SELL: []} for s in MID}
        self.seq = dict.fromkeys(MID, 0)
        self.trades: list[dict[str, Any]] = []
        self.terminal: list[Order] = []

    def submit(self, order: Order) -> None:
        resting = self.books[order.symbol][order.side.opposite]
        while order.filled < order.quantity and resting:
            best = resting[0]
            crosses = best.price <= order.price if order.side is Side.BUY else best.price >= order.price
            if not crosses:
                break
            if best.account_id == order.account_id:  # self-trade: cancel the incoming remainder
                break
            qty = min(order.quantity - order.filled, best.quantity - best.filled)
            self.seq[order.symbol] += 1
            self.trades.append(
                trade(
                    self.seq[order.symbol],
                    best.price,
                    qty,
                    order.side,
                    maker=(best.account_id, best.order_id),
                    taker=(order.account_id, order.order_id),
                    symbol=order.symbol,
                )
            )
            best.filled += qty
            order.filled += qty
            if best.filled == best.quantity:
                resting.pop(0)
                self.end(best, "FILLED")
        if order.filled == order.quantity:
            self.end(order, "FILLED")
        elif self.rng.random() < (0.3 if order.filled else 0.05):
            self.end(order, "CANCELED")  # IOC-like remainder
        else:
            mine = self.books[order.symbol][order.side]
            mine.append(order)
            mine.sort(key=lambda o: -o.price if o.side is Side.BUY else o.price)  # stable: time kept

    def cancel_random(self) -> None:
        resting = [o for book in self.books.values() for side in book.values() for o in side]
        if resting:
            victim = self.rng.choice(resting)
            self.books[victim.symbol][victim.side].remove(victim)
            self.end(victim, "CANCELED")

    def end(self, order: Order, status: str) -> None:
        order.status = status
        self.terminal.append(order)


def hold_for(inst: Instrument, side: Side, price: int, quantity: int) -> tuple[str, int]:
    if side is Side.BUY:
        notional = inst.notional_atoms(price, quantity)
        return inst.quote_asset, notional + inst.fee_atoms(notional, inst.taker_fee_bps)
    return inst.base_asset, inst.base_atoms(quantity)


@pytest.mark.parametrize("seed", [7, 2026])
def test_randomized_trading_run_keeps_every_invariant(world: World, seed: int) -> None:
    rng = random.Random(seed)
    # Given accounts with deposits
    for account in ACCOUNTS:
        world.account(account, **DEPOSITS)
    # And 300 orders placed with funds held, matched by price-time priority
    market = Market(rng)
    available = {(a, asset): amount for a in ACCOUNTS for asset, amount in DEPOSITS.items()}
    for n in range(300):
        symbol = rng.choice(list(MID))
        inst = INSTRUMENTS[symbol]
        side = rng.choice([Side.BUY, Side.SELL])
        price = MID[symbol] + rng.randint(-5, 5) * 100
        quantity = rng.randint(1, 400)
        account = rng.choice(ACCOUNTS)
        asset, amount = hold_for(inst, side, price, quantity)
        if available[(account, asset)] < amount:
            continue
        available[(account, asset)] -= amount
        order = Order(f"o{n}", account, symbol, side, price, quantity)
        world.hold(order.order_id, account, asset, symbol, amount)
        market.submit(order)
        if rng.random() < 0.1:
            market.cancel_random()
    assert len(market.trades) > 150

    # When fills are delivered out of order in random batches, ~15% of them twice, and terminal
    # orders are archived at random points
    deliveries = market.trades + rng.sample(market.trades, len(market.trades) * 15 // 100)
    rng.shuffle(deliveries)
    archives = list(market.terminal)
    rng.shuffle(archives)
    while deliveries or archives:
        if deliveries and (not archives or rng.random() < 0.6):
            size = rng.randint(1, 6)
            batch, deliveries = deliveries[:size], deliveries[size:]
            with world.conn:
                settle_trades(world.conn, batch)
        else:
            with world.conn:
                archive_order(world.conn, archives.pop().snapshot())

    # Then reconciliation is clean
    with world.conn:
        report = reconcile(world.conn)
    assert report.ok, report.mismatches[:5]
    # And no balance is negative
    assert world.scalar("SELECT min(least(available, held)) FROM balances") >= 0
    # And the total per asset is what was deposited: trading only moved funds, fees to the fee account
    assert report.assets == {asset: amount * len(ACCOUNTS) for asset, amount in DEPOSITS.items()}
    fees = world.scalar("SELECT sum(maker_fee + taker_fee) FROM trades")
    assert fees > 0 and world.balance("fees", "USD") == (fees, 0)
    # And every fill was settled exactly once
    assert world.scalar("SELECT count(*) FROM trades") == len(market.trades)
    assert world.scalar("SELECT count(*) FROM journals WHERE kind = 'TRADE'") == len(market.trades)
    settled = world.scalar("SELECT array_agg(trade_id ORDER BY trade_id) FROM trades")
    assert settled == sorted(t["trade_id"] for t in market.trades)
    # And every terminal order's hold is closed; only resting orders still hold funds
    resting = {o.order_id for book in market.books.values() for side in book.values() for o in side}
    active = world.scalar("SELECT coalesce(array_agg(order_id), '{}') FROM holds WHERE status = 'ACTIVE'")
    assert set(active) == resting
