"""Candles and the 24h ticker from settled trades."""

from datetime import UTC, datetime, timedelta

import pytest
from ledger_world import World
from trading.domain.errors import DomainError
from trading.marketdata import candles, ticker

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def add(world: World, seq: int, price: int, quantity: int, at: datetime, *, symbol: str = "BTC-USD") -> None:
    world.execute(
        """INSERT INTO trades (trade_id, symbol, seq, price, quantity, taker_side, maker_order_id,
               taker_order_id, maker_account_id, taker_account_id, maker_fee, taker_fee, executed_at)
           VALUES (%s, %s, %s, %s, %s, 'BUY', 'm', 't', 'a', 'b', 0, 0, %s)""",
        (f"{symbol}:{seq}", symbol, seq, price, quantity, at),
    )


def test_one_minute_candles_follow_sequence_order(world: World) -> None:
    # Given trades in two minutes (the second minute's trades share a timestamp; seq orders them)
    add(world, 1, 100, 2, T0 + timedelta(seconds=1))
    add(world, 2, 105, 1, T0 + timedelta(seconds=30))
    add(world, 3, 98, 3, T0 + timedelta(seconds=59))
    add(world, 4, 101, 1, T0 + timedelta(minutes=1))
    add(world, 5, 99, 4, T0 + timedelta(minutes=1))
    add(world, 6, 500, 1, T0 + timedelta(seconds=10), symbol="ETH-USD")
    # When the 1m candles are read
    with world.conn:
        result = candles(world.conn, "BTC-USD", "1m", limit=10, end=T0 + timedelta(minutes=5))
    # Then each bucket has exact OHLCV in ints
    start = int(T0.timestamp() * 1000)
    assert [c.to_dict() for c in result] == [
        {"start": start, "open": 100, "high": 105, "low": 98, "close": 98, "volume": 6, "quote_volume": 599,
         "trades": 3},
        {"start": start + 60_000, "open": 101, "high": 101, "low": 99, "close": 99, "volume": 5,
         "quote_volume": 497, "trades": 2},
    ]  # fmt: skip


def test_limit_keeps_the_newest_candles(world: World) -> None:
    for n in range(5):
        add(world, n + 1, 100 + n, 1, T0 + timedelta(hours=n))
    with world.conn:
        result = candles(world.conn, "BTC-USD", "1h", limit=2, end=T0 + timedelta(hours=5))
    assert [c.open for c in result] == [103, 104]


@pytest.mark.parametrize(("interval", "limit"), [("2m", 10), ("1m", 0), ("1m", 1001)])
def test_bad_interval_or_limit_is_refused(world: World, interval: str, limit: int) -> None:
    with pytest.raises(DomainError), world.conn:
        candles(world.conn, "BTC-USD", interval, limit=limit)


def test_ticker_covers_the_last_24_hours(world: World) -> None:
    # Given a trade just outside the window and three inside it
    add(world, 1, 90, 10, T0 - timedelta(hours=24))
    add(world, 2, 100, 1, T0 - timedelta(hours=23))
    add(world, 3, 120, 2, T0 - timedelta(hours=1))
    add(world, 4, 110, 3, T0)
    # When the ticker is read at T0
    with world.conn:
        t = ticker(world.conn, "BTC-USD", now=T0)
    # Then it covers only the window
    assert (t.last, t.open, t.high, t.low, t.change) == (110, 100, 120, 100, 10)
    assert (t.volume, t.quote_volume, t.trades) == (6, 100 + 240 + 330, 3)
    assert t.last_trade_at == int(T0.timestamp() * 1000)


def test_ticker_without_recent_trades_keeps_the_last_price(world: World) -> None:
    add(world, 1, 90, 10, T0 - timedelta(days=3))
    with world.conn:
        t = ticker(world.conn, "BTC-USD", now=T0)
        empty = ticker(world.conn, "ETH-USD", now=T0)
    assert (t.last, t.open, t.trades, t.volume, t.change) == (90, None, 0, 0, None)
    assert empty.last is None and empty.last_trade_at is None
