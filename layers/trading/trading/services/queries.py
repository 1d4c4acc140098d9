"""Read-side queries on PostgreSQL (the reader endpoint: these may lag the writer slightly)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime

from trading.adapters.database import Connection
from trading.domain.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class BalanceRow:
    asset: str
    decimals: int
    available: int
    held: int


@dataclass(frozen=True)
class TradeRow:
    trade_id: str
    symbol: str
    seq: int
    price: int
    quantity: int
    taker_side: str
    maker_order_id: str
    taker_order_id: str
    maker_account_id: str
    taker_account_id: str
    maker_fee: int
    taker_fee: int
    executed_at: datetime


_TRADE_COLUMNS = (
    "trade_id, symbol, seq, price, quantity, taker_side, maker_order_id, taker_order_id, "
    "maker_account_id, taker_account_id, maker_fee, taker_fee, executed_at"
)


def balances(conn: Connection, account_id: str) -> list[BalanceRow]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT b.asset, a.decimals, b.available, b.held FROM balances b JOIN assets a USING (asset) "
            "WHERE b.account_id = %s ORDER BY b.asset",
            (account_id,),
        )
        return [BalanceRow(*row) for row in cur.fetchall()]


def _encode_cursor(row: TradeRow) -> str:
    return base64.urlsafe_b64encode(f"{row.symbol}|{row.seq}".encode()).decode().rstrip("=")


# What _encode_cursor writes: a symbol, "|", a trade seq (bigint); nothing else (a NUL or a
# non-integer seq would reach PostgreSQL and fail there).
_FILLS_CURSOR = re.compile(r"([A-Z][A-Z0-9]{1,9}-[A-Z][A-Z0-9]{1,9})\|(0|[1-9][0-9]{0,17})")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid") from exc
    match = _FILLS_CURSOR.fullmatch(text)
    if match is None:
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid")
    return match.group(1), int(match.group(2))


def fills(
    conn: Connection, account_id: str, symbol: str | None, limit: int, cursor: str | None
) -> tuple[list[TradeRow], str | None]:
    """The account's trades (as maker or taker), newest first; paginated per (symbol, seq)."""
    where = ["(maker_account_id = %(account)s OR taker_account_id = %(account)s)"]
    params: dict[str, object] = {"account": account_id, "limit": limit + 1}
    if symbol:
        where.append("symbol = %(symbol)s")
        params["symbol"] = symbol
    if cursor:
        params["c_symbol"], params["c_seq"] = _decode_cursor(cursor)
        where.append("(symbol, seq) < (%(c_symbol)s, %(c_seq)s)")
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE {' AND '.join(where)} "  # noqa: S608 - fixed text
            "ORDER BY symbol DESC, seq DESC LIMIT %(limit)s",
            params,
        )
        rows = [TradeRow(*row) for row in cur.fetchall()]
    if len(rows) > limit:
        return rows[:limit], _encode_cursor(rows[limit - 1])
    return rows, None


def recent_trades(conn: Connection, symbol: str, limit: int) -> list[TradeRow]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE symbol = %s ORDER BY seq DESC LIMIT %s",  # noqa: S608
            (symbol, limit),
        )
        return [TradeRow(*row) for row in cur.fetchall()]
