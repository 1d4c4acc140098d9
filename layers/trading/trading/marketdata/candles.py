"""OHLCV candles and the 24h ticker from the ``trades`` table.

Prices are in the instrument's price units, ``volume`` in quantity units and ``quote_volume`` in
notional units (``price * quantity``); all ``int``. Open/close are the first/last trade of the
bucket by the matcher's ``seq`` (the only ordering that is exact), buckets are aligned to the
Unix epoch in UTC, and only buckets with trades are returned. Reads tolerate lag, so callers
pass the reader connection.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg2.extensions import connection

from trading.domain.errors import DomainError, ErrorCode

INTERVALS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "4h": 14_400,
    "1d": 86_400,
}
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Candle:
    start: int  # bucket start, unix milliseconds (UTC)
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    trades: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: int | None
    open: int | None  # first trade of the window
    high: int | None
    low: int | None
    volume: int
    quote_volume: int
    trades: int
    change: int | None  # last - open, price units
    window_start: int  # unix ms
    window_end: int  # unix ms
    last_trade_at: int | None  # unix ms

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def candles(
    conn: connection, symbol: str, interval: str, limit: int = 100, end: datetime | None = None
) -> list[Candle]:
    """The newest ``limit`` candles of ``interval`` up to ``end`` (default now), oldest first."""
    seconds = INTERVALS.get(interval)
    if seconds is None:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR, f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"limit must be between 1 and {MAX_LIMIT}")
    end = end or datetime.now(UTC)
    start = end - timedelta(seconds=seconds * limit)
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT floor(extract(epoch FROM executed_at) / %(s)s)::bigint * %(s)s AS bucket,
                   (array_agg(price ORDER BY seq))[1], max(price), min(price),
                   (array_agg(price ORDER BY seq DESC))[1],
                   sum(quantity), sum(price::numeric * quantity), count(*)
            FROM trades
            WHERE symbol = %(symbol)s AND executed_at >= to_timestamp(
                      floor(extract(epoch FROM %(start)s::timestamptz) / %(s)s) * %(s)s)
                  AND executed_at < %(end)s
            GROUP BY bucket ORDER BY bucket DESC LIMIT %(limit)s
            """,
            {"s": seconds, "symbol": symbol, "start": start, "end": end, "limit": limit},
        )
        rows = cur.fetchall()
    return [
        Candle(int(b) * 1000, int(o), int(h), int(lo), int(c), int(v), int(q), int(n))
        for b, o, h, lo, c, v, q, n in reversed(rows)
    ]


def ticker(conn: connection, symbol: str, now: datetime | None = None) -> Ticker:
    """Rolling 24h statistics ending at ``now`` (default: the current time)."""
    end = now or datetime.now(UTC)
    start = end - timedelta(hours=24)
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT (array_agg(price ORDER BY seq DESC))[1], (array_agg(price ORDER BY seq))[1],
                   max(price), min(price), coalesce(sum(quantity), 0),
                   coalesce(sum(price::numeric * quantity), 0), count(*), max(executed_at)
            FROM trades WHERE symbol = %s AND executed_at > %s AND executed_at <= %s
            """,
            (symbol, start, end),
        )
        last, first, high, low, volume, quote_volume, count, last_at = cur.fetchone()
        if last is None:
            # No trade in the window: the last price is still the most recent trade's.
            cur.execute(
                "SELECT price, executed_at FROM trades WHERE symbol = %s ORDER BY seq DESC LIMIT 1", (symbol,)
            )
            row = cur.fetchone()
            if row is not None:
                last, last_at = row
    return Ticker(
        symbol=symbol,
        last=None if last is None else int(last),
        open=None if first is None else int(first),
        high=None if high is None else int(high),
        low=None if low is None else int(low),
        volume=int(volume),
        quote_volume=int(quote_volume),
        trades=int(count),
        change=None if first is None else int(last) - int(first),
        window_start=_ms(start),
        window_end=_ms(end),
        last_trade_at=None if last_at is None else _ms(last_at),
    )
