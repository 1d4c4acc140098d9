"""The ledger under the real matching engine: a randomized multi-account run of hundreds of
orders (limit GTC/IOC, market buys with a budget, market sells, cancels, every self-trade
prevention mode) on both demo instruments, with funds held exactly as order intake holds them.

The engine's trades are delivered to settlement out of order, in random batches, 15 % twice;
terminal orders (filled, canceled, rejected) are archived at random points. After settlement
drains: zero reconciliation mismatches, no negative balance, each asset's total equals the
deposits, fees only in the fee account, every fill settled exactly once, and only the holds of
orders still resting on the books remain.
"""

import random
from typing import Any

import pytest
from ledger_world import World
from trading.domain.enums import OrderStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.instruments import Instrument, demo_instruments
from trading.engine import Cancel, MatchingEngine, NewOrder, OrderCanceled, OrderFilled, OrderRejected, Trade
from trading.engine.rules import Grid, holding
from trading.ledger import archive_order, reconcile, settle_trades

INSTRUMENTS = {i.symbol: i for i in demo_instruments()}


def held(order: NewOrder) -> NewOrder:
    return holding(Grid(INSTRUMENTS[order.symbol]), order)


ACCOUNTS = [f"trader{n}" for n in range(10)]
DEPOSITS = {"USD": 500_000_000_000, "BTC": 500_000_000, "ETH": 5_000_000_000}
MID = {"BTC-USD": 3_000_000, "ETH-USD": 200_000}
ORDERS = 400


def intake_hold(inst: Instrument, cmd: NewOrder) -> tuple[str, int]:
    """What ``trading.services.orders`` holds for an order (worst case incl. the taker fee)."""
    if cmd.side is Side.SELL:
        assert cmd.quantity is not None
        return inst.base_asset, inst.base_atoms(cmd.quantity)
    if cmd.order_type is OrderType.MARKET:
        assert cmd.quote_budget is not None
        budget = cmd.quote_budget * inst.notional_to_quote_atoms
        return inst.quote_asset, budget + inst.fee_atoms(budget, inst.taker_fee_bps)
    assert cmd.price is not None and cmd.quantity is not None
    notional = inst.notional_atoms(cmd.price, cmd.quantity)
    return inst.quote_asset, notional + inst.fee_atoms(notional, inst.taker_fee_bps)


def random_order(rng: random.Random, n: int) -> NewOrder:
    symbol = rng.choice(list(MID))
    side = rng.choice([Side.BUY, Side.SELL])
    account = rng.choice(ACCOUNTS)
    stp = rng.choice(list(StpMode))
    roll = rng.random()
    if roll < 0.06 and side is Side.BUY:
        budget = rng.randint(50, 400) * MID[symbol]
        return held(
            NewOrder(
                f"o{n}", account, symbol, side, OrderType.MARKET, None, None, stp=stp, quote_budget=budget
            )
        )
    if roll < 0.06:
        return held(
            NewOrder(f"o{n}", account, symbol, side, OrderType.MARKET, None, rng.randint(1, 300), stp=stp)
        )
    tif = TimeInForce.IOC if roll < 0.18 else TimeInForce.GTC
    price = MID[symbol] + rng.randint(-6, 6) * 100
    return held(
        NewOrder(f"o{n}", account, symbol, side, OrderType.LIMIT, price, rng.randint(1, 400), tif, stp=stp)
    )


def record(
    events: list[Any],
    trades: list[dict[str, Any]],
    orders: dict[str, dict[str, Any]],
    terminal: dict[str, str],
) -> None:
    """Turn engine events into TradeExecuted details, filled quantities and terminal statuses."""
    for ev in events:
        if isinstance(ev, Trade):
            trades.append(
                {
                    "symbol": ev.symbol, "seq": ev.seq, "trade_id": f"{ev.symbol}:{ev.seq}",
                    "price": ev.price, "quantity": ev.quantity, "taker_side": ev.maker_side.opposite.value,
                    "maker_order_id": ev.maker_order_id, "taker_order_id": ev.taker_order_id,
                    "maker_account_id": ev.maker_account_id, "taker_account_id": ev.taker_account_id,
                    "executed_at": "2026-11-25T12:00:00Z",
                }
            )  # fmt: skip
            orders[ev.maker_order_id]["filled_quantity"] += ev.quantity
            orders[ev.taker_order_id]["filled_quantity"] += ev.quantity
        elif isinstance(ev, OrderFilled):
            terminal[ev.order_id] = OrderStatus.FILLED.value
        elif isinstance(ev, OrderCanceled):
            terminal[ev.order_id] = OrderStatus.CANCELED.value
        elif isinstance(ev, OrderRejected) and ev.request == "new":
            terminal[ev.order_id] = OrderStatus.REJECTED.value


@pytest.mark.parametrize("seed", [11, 4242])
def test_engine_driven_run_settles_and_reconciles(world: World, seed: int) -> None:
    rng = random.Random(seed)
    for account in ACCOUNTS:
        world.account(account, **DEPOSITS)
    engine = MatchingEngine(demo_instruments())
    trades: list[dict[str, Any]] = []
    orders: dict[str, dict[str, Any]] = {}
    terminal: dict[str, str] = {}
    resting: list[tuple[str, str, str]] = []
    # Given hundreds of orders with funds held as intake holds them, through the real engine
    for n in range(ORDERS):
        if resting and rng.random() < 0.15:
            order_id, account, symbol = resting.pop(rng.randrange(len(resting)))
            events = engine.process(Cancel(order_id, account, symbol))
        else:
            cmd = random_order(rng, n)
            inst = INSTRUMENTS[cmd.symbol]
            asset, amount = intake_hold(inst, cmd)
            if world.balance(cmd.account_id, asset)[0] < amount:
                continue
            world.hold(cmd.order_id, cmd.account_id, asset, cmd.symbol, amount)
            orders[cmd.order_id] = {
                "order_id": cmd.order_id, "account_id": cmd.account_id, "symbol": cmd.symbol,
                "side": cmd.side.value, "order_type": cmd.order_type.value, "price": cmd.price,
                "quantity": cmd.quantity, "filled_quantity": 0,
            }  # fmt: skip
            resting.append((cmd.order_id, cmd.account_id, cmd.symbol))
            events = engine.process(cmd)
        record(events, trades, orders, terminal)
        resting = [r for r in resting if r[0] not in terminal]
    assert len(trades) > 100 and len(terminal) > 100

    # When the trades settle out of order, in batches, some twice, while terminal orders are archived
    deliveries = trades + rng.sample(trades, len(trades) * 15 // 100)
    rng.shuffle(deliveries)
    archives = [{**orders[oid], "status": status} for oid, status in terminal.items()]
    rng.shuffle(archives)
    while deliveries or archives:
        if deliveries and (not archives or rng.random() < 0.6):
            size = rng.randint(1, 8)
            batch, deliveries = deliveries[:size], deliveries[size:]
            with world.conn:
                settle_trades(world.conn, batch, INSTRUMENTS)
        else:
            with world.conn:
                archive_order(world.conn, archives.pop())

    # Then the books reconcile, nothing is negative and the totals are the deposits
    with world.conn:
        report = reconcile(world.conn)
    assert report.ok, report.mismatches[:5]
    assert world.scalar("SELECT min(least(available, held)) FROM balances") >= 0
    assert report.assets == {asset: amount * len(ACCOUNTS) for asset, amount in DEPOSITS.items()}
    fees = world.scalar("SELECT sum(maker_fee + taker_fee) FROM trades")
    assert world.balance("fees", "USD") == (fees, 0) and fees > 0
    # And every fill settled exactly once
    assert world.scalar("SELECT count(*) FROM trades") == len(trades)
    assert world.scalar("SELECT count(*) FROM journals WHERE kind = 'TRADE'") == len(trades)
    # And only the orders still on the books hold funds
    active = world.scalar("SELECT coalesce(array_agg(order_id), '{}') FROM holds WHERE status = 'ACTIVE'")
    assert set(active) == {r[0] for r in resting}
