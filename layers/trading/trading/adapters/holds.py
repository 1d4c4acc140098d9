"""Funds holds in PostgreSQL (table ``holds``, one row per order).

Placing a hold is one transaction: insert the hold row (unique per order) and move the amount from
``available`` to ``held`` with a guard ``available >= amount``. If the guard matches no row the
transaction rolls back and nothing is written. Releasing is the reverse, also one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trading.adapters.database import Borrow, Connection
from trading.domain.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class HoldRequest:
    order_id: str
    account_id: str
    asset: str
    symbol: str
    amount: int


class HoldOutcome(StrEnum):
    PLACED = "PLACED"
    ALREADY_HELD = "ALREADY_HELD"  # a retry of the same order: the first attempt's hold stands


def place_hold(conn: Connection, hold: HoldRequest) -> HoldOutcome:
    """Hold ``amount`` of ``asset`` for one order; raise ``INSUFFICIENT_FUNDS`` and write nothing."""
    if hold.amount <= 0:
        raise ValueError("hold amount must be positive")
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO holds (order_id, account_id, asset, symbol, amount, remaining)
            SELECT %(order_id)s, %(account_id)s, %(asset)s, %(symbol)s, %(amount)s, %(amount)s
            WHERE EXISTS (SELECT 1 FROM balances WHERE account_id = %(account_id)s AND asset = %(asset)s)
            ON CONFLICT (order_id) DO NOTHING
            RETURNING order_id
            """,
            hold.__dict__,
        )
        if cur.fetchone() is None:
            cur.execute("SELECT account_id, status, amount FROM holds WHERE order_id = %s", (hold.order_id,))
            existing = cur.fetchone()
            if existing is None:  # no balance row for this asset at all
                raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, f"no {hold.asset} available")
            if existing == (hold.account_id, "ACTIVE", hold.amount):
                return HoldOutcome.ALREADY_HELD
            raise DomainError(ErrorCode.DUPLICATE_ORDER_ID, "an order with this id already exists")
        cur.execute(
            """
            UPDATE balances
               SET available = available - %(amount)s, held = held + %(amount)s, updated_at = now()
             WHERE account_id = %(account_id)s AND asset = %(asset)s AND available >= %(amount)s
            """,
            hold.__dict__,
        )
        if cur.rowcount != 1:
            # Raising inside ``with conn`` rolls the hold row back too: nothing is held.
            raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, f"insufficient {hold.asset} available")
    return HoldOutcome.PLACED


def release_hold(conn: Connection, order_id: str) -> int:
    """Give an order's remaining hold back to ``available`` and close it; returns the amount."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT account_id, asset, remaining FROM holds WHERE order_id = %s AND status = 'ACTIVE' "
            "FOR UPDATE",
            (order_id,),
        )
        row = cur.fetchone()
        if row is None:
            return 0
        account_id, asset, remaining = row
        cur.execute(
            "UPDATE holds SET remaining = 0, status = 'CLOSED', updated_at = now() WHERE order_id = %s",
            (order_id,),
        )
        if remaining:
            cur.execute(
                "UPDATE balances SET available = available + %s, held = held - %s, updated_at = now() "
                "WHERE account_id = %s AND asset = %s",
                (remaining, remaining, account_id, asset),
            )
        return int(remaining)


def undo_hold(conn: Connection, order_id: str) -> int:
    """Compensation for an order that never reached the queue: as if it had never been placed.

    Unlike :func:`release_hold` the row is deleted, so a client retry with the same
    ``client_order_id`` (same deterministic order id) can place the order afresh.
    """
    with conn, conn.cursor() as cur:
        cur.execute(
            "DELETE FROM holds WHERE order_id = %s AND status = 'ACTIVE' AND remaining = amount "
            "RETURNING account_id, asset, amount",
            (order_id,),
        )
        row = cur.fetchone()
        if row is None:
            return 0
        account_id, asset, amount = row
        cur.execute(
            "UPDATE balances SET available = available + %s, held = held - %s, updated_at = now() "
            "WHERE account_id = %s AND asset = %s",
            (amount, amount, account_id, asset),
        )
        return int(amount)


class PgHolds:
    """The services' holds port on the writer: each call borrows a connection for its transaction."""

    def __init__(self, connect: Borrow) -> None:
        self._connect = connect

    def place(self, hold: HoldRequest) -> HoldOutcome:
        with self._connect() as conn:
            return place_hold(conn, hold)

    def undo(self, order_id: str) -> int:
        with self._connect() as conn:
            return undo_hold(conn, order_id)

    def release(self, order_id: str) -> int:
        with self._connect() as conn:
            return release_hold(conn, order_id)
