"""Settlement of matcher trades into the ledger, to the atom."""

import threading

import psycopg2
import pytest
from ledger_world import BTC_USD, World, terminal_order, trade
from trading.domain.enums import Side
from trading.ledger import PermanentSettlementError, archive_order, reconcile, settle_trades

PRICE = 3_000_000  # 30000.00 USD
QTY = 5_000  # 0.5 BTC
NOTIONAL = 15_000_000_000  # 15000 USD in atoms
TAKER_FEE = 30_000_000  # 20 bps
MAKER_FEE = 15_000_000  # 10 bps
HALF_BTC = 50_000_000


def crossing_world(world: World) -> tuple[int, int]:
    """Seller (maker) rests 0.5 BTC at 30000; buyer (taker) buys 0.5 BTC with a limit of 30100."""
    world.account("seller", BTC=100_000_000)
    world.account("buyer", USD=20_000_000_000)
    sell_hold = world.order_hold("sell-1", "seller", Side.SELL, PRICE, QTY)
    buy_hold = world.order_hold("buy-1", "buyer", Side.BUY, 3_010_000, QTY)
    return sell_hold, buy_hold


def cross() -> dict[str, object]:
    return trade(1, PRICE, QTY, Side.BUY, maker=("seller", "sell-1"), taker=("buyer", "buy-1"))


def test_a_crossing_trade_settles_to_the_unit(world: World) -> None:
    # Given a resting sell and a crossing buy, both with funds held
    _, buy_hold = crossing_world(world)
    assert buy_hold == 15_050_000_000 + 30_100_000
    # When their trade settles
    with world.conn:
        result = settle_trades(world.conn, [cross()])
    # Then base and quote moved, fees went to the fee account, and the holds were consumed
    assert result.settled == ["BTC-USD:1"]
    assert world.balance("buyer", "BTC") == (HALF_BTC, 0)
    assert world.balance("seller", "BTC") == (HALF_BTC, 0)
    buyer_spent = NOTIONAL + TAKER_FEE
    assert world.balance("buyer", "USD") == (20_000_000_000 - buy_hold, buy_hold - buyer_spent)
    assert world.balance("seller", "USD") == (NOTIONAL - MAKER_FEE, 0)
    assert world.balance("fees", "USD") == (TAKER_FEE + MAKER_FEE, 0)
    assert world.hold_state("buy-1") == (buy_hold - buyer_spent, "ACTIVE")
    assert world.hold_state("sell-1") == (0, "ACTIVE")
    assert world.scalar("SELECT maker_fee || '/' || taker_fee FROM trades") == f"{MAKER_FEE}/{TAKER_FEE}"
    # And the journal has five legs summing to zero per asset
    assert world.scalar("SELECT count(*) FROM ledger_entries WHERE journal_id = 'trade:BTC-USD:1'") == 5
    with world.conn:
        assert reconcile(world.conn).ok


def test_the_excess_hold_is_released_when_the_filled_order_is_archived(world: World) -> None:
    # Given a settled crossing trade
    crossing_world(world)
    with world.conn:
        settle_trades(world.conn, [cross()])
    # When both orders are archived as FILLED
    with world.conn:
        archive_order(world.conn, terminal_order("buy-1", "buyer", Side.BUY, filled=QTY))
        archive_order(world.conn, terminal_order("sell-1", "seller", Side.SELL, filled=QTY))
    # Then the buyer's unspent hold is back in available and nothing stays held
    assert world.balance("buyer", "USD") == (20_000_000_000 - NOTIONAL - TAKER_FEE, 0)
    assert world.hold_state("buy-1") == (0, "CLOSED")
    assert world.hold_state("sell-1") == (0, "CLOSED")
    with world.conn:
        assert reconcile(world.conn).ok


def test_archive_before_settlement_waits_and_settlement_then_releases(world: World) -> None:
    # Given the buy order archived as FILLED before its trade settled
    crossing_world(world)
    with world.conn:
        outcome = archive_order(world.conn, terminal_order("buy-1", "buyer", Side.BUY, filled=QTY))
    # Then the hold is kept for the unsettled fill
    assert not outcome.hold_closed
    assert world.hold_state("buy-1")[1] == "ACTIVE"
    # When the trade settles
    with world.conn:
        result = settle_trades(world.conn, [cross()])
    # Then settlement releases the excess
    assert result.released_holds == ["buy-1"]
    assert world.balance("buyer", "USD") == (20_000_000_000 - NOTIONAL - TAKER_FEE, 0)
    with world.conn:
        assert reconcile(world.conn).ok


def test_a_canceled_order_keeps_its_hold_until_its_partial_fill_settles(world: World) -> None:
    # Given a buy for 0.5 BTC canceled after 0.2 BTC filled, archived before the fill settled
    crossing_world(world)
    with world.conn:
        archive_order(world.conn, terminal_order("buy-1", "buyer", Side.BUY, filled=2_000, status="CANCELED"))
    assert world.hold_state("buy-1")[1] == "ACTIVE"
    # When the 0.2 BTC fill settles
    with world.conn:
        settle_trades(
            world.conn, [trade(1, PRICE, 2_000, Side.BUY, ("seller", "sell-1"), ("buyer", "buy-1"))]
        )
    # Then the rest of the buyer's hold is released and the buyer paid exactly 0.2 BTC + fee
    notional = BTC_USD.notional_atoms(PRICE, 2_000)
    assert world.balance("buyer", "USD") == (20_000_000_000 - notional - BTC_USD.fee_atoms(notional, 20), 0)
    assert world.balance("seller", "BTC") == (HALF_BTC, HALF_BTC - 20_000_000)


def test_the_same_trade_twice_is_settled_once(world: World) -> None:
    # Given a settled trade
    crossing_world(world)
    with world.conn:
        settle_trades(world.conn, [cross()])
    before = world.balance("buyer", "USD"), world.balance("seller", "USD"), world.balance("fees", "USD")
    # When the same event is delivered again (alone and inside a batch)
    with world.conn:
        again = settle_trades(world.conn, [cross()])
    with world.conn:
        settle_trades(world.conn, [cross(), cross()])
    # Then nothing moved again
    assert again.settled == [] and again.duplicates == ["BTC-USD:1"]
    after = world.balance("buyer", "USD"), world.balance("seller", "USD"), world.balance("fees", "USD")
    assert after == before
    assert world.scalar("SELECT count(*) FROM journals") == 3  # two deposits + one trade


def test_concurrent_deliveries_of_one_trade_settle_it_once(world: World) -> None:
    # Given a trade delivered to four settle workers at the same time
    crossing_world(world)
    barrier = threading.Barrier(4)
    settled: list[list[str]] = []

    def worker() -> None:
        conn = psycopg2.connect(world.dsn)
        try:
            barrier.wait()
            with conn:
                settled.append(settle_trades(conn, [cross()]).settled)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one of them applied it
    assert sorted(settled) == [[], [], [], ["BTC-USD:1"]]
    assert world.balance("fees", "USD") == (TAKER_FEE + MAKER_FEE, 0)


def test_a_bad_trade_in_a_batch_leaves_nothing_half_applied(world: World) -> None:
    # Given a batch whose second trade would overdraw the buyer (nothing held, nothing available)
    crossing_world(world)
    world.account("broke")
    batch = [cross(), trade(2, PRICE, QTY, Side.BUY, ("seller", "sell-1"), ("broke", "buy-2"))]
    # When the batch settles / Then it fails as a whole
    with pytest.raises(psycopg2.errors.CheckViolation), world.conn:
        settle_trades(world.conn, batch)
    assert world.scalar("SELECT count(*) FROM trades") == 0
    assert world.scalar("SELECT count(*) FROM journals WHERE kind = 'TRADE'") == 0
    assert world.balance("seller", "BTC") == (HALF_BTC, HALF_BTC)


def test_a_different_trade_under_a_used_id_is_refused(world: World) -> None:
    # Given a settled trade
    crossing_world(world)
    with world.conn:
        settle_trades(world.conn, [cross()])
    # When another trade arrives with the same symbol and sequence
    forged = trade(1, PRICE + 1, QTY, Side.BUY, ("seller", "sell-1"), ("buyer", "buy-1"))
    # Then it is a permanent error and nothing changes
    with pytest.raises(PermanentSettlementError), world.conn:
        settle_trades(world.conn, [forged])
    assert world.scalar("SELECT price FROM trades") == PRICE


@pytest.mark.parametrize(
    "change",
    [{"symbol": "DOGE-USD", "trade_id": "DOGE-USD:1"}, {"trade_id": "x"}, {"price": 0}, {"quantity": "5"}],
)
def test_malformed_trades_are_permanent_errors(world: World, change: dict[str, object]) -> None:
    # Given a trade with an unknown symbol, a bad id, a zero price or a string quantity
    crossing_world(world)
    bad = {**cross(), **change}
    # When it is settled / Then it is a permanent error
    with pytest.raises(PermanentSettlementError), world.conn:
        settle_trades(world.conn, [bad])


def test_a_sell_taker_pays_the_taker_fee_out_of_the_proceeds(world: World) -> None:
    # Given a resting buy (maker) and an incoming sell (taker)
    world.account("seller", BTC=HALF_BTC)
    world.account("buyer", USD=20_000_000_000)
    world.order_hold("buy-1", "buyer", Side.BUY, PRICE, QTY)
    world.order_hold("sell-1", "seller", Side.SELL, PRICE, QTY)
    # When they trade
    with world.conn:
        settle_trades(world.conn, [trade(1, PRICE, QTY, Side.SELL, ("buyer", "buy-1"), ("seller", "sell-1"))])
    # Then the seller gets the notional minus the taker fee; the buyer pays notional plus the maker fee
    assert world.balance("seller", "USD") == (NOTIONAL - TAKER_FEE, 0)
    assert world.balance("seller", "BTC") == (0, 0)
    held = world.balance("buyer", "USD")[1]
    assert world.hold_state("buy-1")[0] == held == (NOTIONAL + TAKER_FEE) - (NOTIONAL + MAKER_FEE)


def test_a_trade_without_a_hold_is_paid_from_available(world: World) -> None:
    # Given a hold that was released early (e.g. by a cancel path) so the funds are available again
    crossing_world(world)
    with world.conn, world.conn.cursor() as cur:
        from trading.ledger import release_hold

        release_hold(world.conn, "buy-1")
        cur.execute("SELECT 1")
    # When the trade settles
    with world.conn:
        settle_trades(world.conn, [cross()])
    # Then the buyer paid from available and the books still reconcile
    assert world.balance("buyer", "USD") == (20_000_000_000 - NOTIONAL - TAKER_FEE, 0)
    with world.conn:
        assert reconcile(world.conn).ok


def test_fees_round_up_once_per_order_so_a_swept_level_never_overdraws_the_hold(world: World) -> None:
    # Given a buyer whose whole balance is held for 3 lots at 30000.01 plus the taker fee on the
    # total (rounding each fill's fee up separately would need 2 atoms more than that)
    price, notional = 3_000_001, 3 * 3_000_001
    hold = notional + BTC_USD.fee_atoms(notional, 20)
    world.account("buyer", USD=hold)
    world.order_hold("buy-1", "buyer", Side.BUY, price, 3)
    for n in range(3):
        world.account(f"maker{n}", BTC=10_000)
        world.order_hold(f"sell-{n}", f"maker{n}", Side.SELL, price, 1)
    fills = [
        trade(n + 1, price, 1, Side.BUY, (f"maker{n}", f"sell-{n}"), ("buyer", "buy-1")) for n in range(3)
    ]
    # When the buy sweeps the three makers and the fills settle (out of order)
    for fill in (fills[2], fills[0], fills[1]):
        with world.conn:
            settle_trades(world.conn, [fill])
    # Then the buyer paid exactly its hold and the taker fees total ceil(20 bps of the total)
    assert world.balance("buyer", "USD") == (0, 0)
    assert world.scalar("SELECT sum(taker_fee) FROM trades") == BTC_USD.fee_atoms(notional, 20) == 18_001
    with world.conn:
        assert reconcile(world.conn).ok
