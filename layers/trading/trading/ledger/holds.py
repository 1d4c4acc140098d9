"""Releasing what is left of an order's funds hold, exactly once, and only when it is safe.

The release rule (docs/ledger.md, "Holds"): a hold is released when its order is terminal *and*
every one of the order's fills is settled, i.e. the quantity settled for the order in ``trades``
reaches the order's final ``filled_quantity``. Releasing earlier would hand funds back to the
account that a still-unsettled trade of the same order is about to spend. Both facts can arrive in
either order (the ``Orders`` stream and the settlement workflow race), so whichever arrives second
does the release: the archiver records the terminal order in ``order_history`` and releases if the
fills are all settled; settlement releases after the last fill if ``order_history`` already has the
order. Both lock the hold row first, which serialises them (no write skew).
"""

from collections.abc import Iterable

from psycopg2.extensions import connection, cursor


def settled_quantity(cur: cursor, order_id: str) -> int:
    """The quantity (instrument units) settled so far for an order, on either side of a trade."""
    cur.execute(
        """SELECT coalesce(sum(quantity), 0) FROM trades WHERE maker_order_id = %s
           UNION ALL
           SELECT coalesce(sum(quantity), 0) FROM trades WHERE taker_order_id = %s""",
        (order_id, order_id),
    )
    return sum(int(row[0]) for row in cur.fetchall())


def release_locked(cur: cursor, order_id: str) -> int:
    """Release an order's hold; the caller holds no lock yet or already locked the hold row.

    Returns the amount moved from ``held`` back to ``available`` (0 when there is no active hold).
    Idempotent: a closed hold stays closed and releases nothing.
    """
    cur.execute(
        "SELECT account_id, asset, remaining, status FROM holds WHERE order_id = %s FOR UPDATE",
        (order_id,),
    )
    row = cur.fetchone()
    if row is None or row[3] != "ACTIVE":
        return 0
    account_id, asset, remaining = row[0], row[1], int(row[2])
    if remaining:
        cur.execute(
            """UPDATE balances SET available = available + %s, held = held - %s, updated_at = now()
               WHERE account_id = %s AND asset = %s""",
            (remaining, remaining, account_id, asset),
        )
    cur.execute(
        """UPDATE holds SET remaining = 0, status = 'CLOSED', updated_at = now()
           WHERE order_id = %s""",
        (order_id,),
    )
    return remaining


def release_if_settled(cur: cursor, order_id: str, filled_quantity: int) -> bool:
    """Release the hold of a terminal order once all of its ``filled_quantity`` is settled.

    Returns True when the hold is closed afterwards (released now or earlier, or no hold at all).
    """
    cur.execute("SELECT status FROM holds WHERE order_id = %s FOR UPDATE", (order_id,))
    row = cur.fetchone()
    if row is None or row[0] != "ACTIVE":
        return True
    if settled_quantity(cur, order_id) < filled_quantity:
        return False
    release_locked(cur, order_id)
    return True


def release_settled_terminal_orders(cur: cursor, locked_active: Iterable[str]) -> list[str]:
    """Of these orders (their ACTIVE holds locked by the caller), release those archived as
    terminal and fully settled; returns the released order ids. Used by settlement after applying
    a batch (the order_history read comes after the lock, see the module docstring)."""
    ids = sorted(set(locked_active))
    if not ids:
        return []
    cur.execute(
        "SELECT order_id, filled_quantity FROM order_history WHERE order_id = ANY(%s) ORDER BY order_id",
        (ids,),
    )
    released = []
    for order_id, filled in cur.fetchall():
        if settled_quantity(cur, order_id) >= int(filled):
            release_locked(cur, order_id)
            released.append(order_id)
    return released


def release_hold(conn: connection, order_id: str) -> int:
    """Unconditionally release an order's remaining hold in the caller's transaction (idempotent).

    For callers that already know no further fill of the order can settle (e.g. an order rejected
    before reaching the book). Returns the amount released.
    """
    with conn.cursor() as cur:
        return release_locked(cur, order_id)
