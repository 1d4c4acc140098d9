"""A small world of accounts, deposits and holds on a fresh database, for ledger tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg2
from trading.domain.enums import Side
from trading.domain.instruments import Instrument, demo_instruments
from trading.ledger import post_transfer

INSTRUMENTS = {i.symbol: i for i in demo_instruments()}
BTC_USD = INSTRUMENTS["BTC-USD"]


class World:
    """Sets up state the way the rest of the system would (admin deposits, intake holds)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = psycopg2.connect(dsn)

    def account(self, account_id: str, **deposits: int) -> str:
        with self.conn, self.conn.cursor() as cur:
            cur.execute("INSERT INTO accounts (account_id) VALUES (%s) ON CONFLICT DO NOTHING", (account_id,))
        for asset, amount in deposits.items():
            self.deposit(account_id, asset, amount)
        return account_id

    def deposit(self, account_id: str, asset: str, amount: int, transfer_id: str | None = None) -> None:
        with self.conn:
            post_transfer(
                self.conn,
                transfer_id or f"dep-{account_id}-{asset}-{amount}",
                account_id,
                asset,
                "DEPOSIT",
                amount,
            )

    def hold(self, order_id: str, account_id: str, asset: str, symbol: str, amount: int) -> None:
        """What order intake does: move ``amount`` from available to held, one hold row per order."""
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                """UPDATE balances SET available = available - %s, held = held + %s
                   WHERE account_id = %s AND asset = %s AND available >= %s""",
                (amount, amount, account_id, asset, amount),
            )
            assert cur.rowcount == 1, f"{account_id} cannot hold {amount} {asset}"
            cur.execute(
                """INSERT INTO holds (order_id, account_id, asset, symbol, amount, remaining)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (order_id, account_id, asset, symbol, amount, amount),
            )

    def order_hold(
        self,
        order_id: str,
        account_id: str,
        side: Side,
        price: int,
        quantity: int,
        *,
        inst: Instrument = BTC_USD,
    ) -> int:
        """The worst case an order can spend: quote incl. the higher fee for a buy, base for a sell."""
        if side is Side.BUY:
            notional = inst.notional_atoms(price, quantity)
            amount = notional + inst.fee_atoms(notional, max(inst.maker_fee_bps, inst.taker_fee_bps))
            self.hold(order_id, account_id, inst.quote_asset, inst.symbol, amount)
        else:
            amount = inst.base_atoms(quantity)
            self.hold(order_id, account_id, inst.base_asset, inst.symbol, amount)
        return amount

    def balance(self, account_id: str, asset: str) -> tuple[int, int]:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT available, held FROM balances WHERE account_id = %s AND asset = %s",
                (account_id, asset),
            )
            row = cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def hold_state(self, order_id: str) -> tuple[int, str]:
        with self.conn, self.conn.cursor() as cur:
            cur.execute("SELECT remaining, status FROM holds WHERE order_id = %s", (order_id,))
            row = cur.fetchone()
        return int(row[0]), str(row[1])

    def scalar(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(sql, params)


def trade(  # noqa: PLR0917 - reads like the event
    seq: int,
    price: int,
    quantity: int,
    taker_side: Side,
    maker: tuple[str, str],
    taker: tuple[str, str],
    symbol: str = "BTC-USD",
) -> dict[str, Any]:
    """A ``TradeExecuted`` detail; ``maker``/``taker`` are ``(account_id, order_id)``."""
    return {
        "symbol": symbol,
        "seq": seq,
        "trade_id": f"{symbol}:{seq}",
        "price": price,
        "quantity": quantity,
        "taker_side": taker_side.value,
        "maker_order_id": maker[1],
        "taker_order_id": taker[1],
        "maker_account_id": maker[0],
        "taker_account_id": taker[0],
        "executed_at": datetime(2026, 11, 25, 12, 0, seq % 60, tzinfo=UTC).isoformat(),
    }


def terminal_order(
    order_id: str, account_id: str, side: Side, filled: int, *, status: str = "FILLED", quantity: int = 5000
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "account_id": account_id,
        "symbol": "BTC-USD",
        "side": side.value,
        "order_type": "LIMIT",
        "status": status,
        "price": 3_000_000,
        "quantity": quantity,
        "filled_quantity": filled,
        "created_at": "2026-11-25T12:00:00.000000Z",
        "updated_at": "2026-11-25T12:00:01.000000Z",
    }
