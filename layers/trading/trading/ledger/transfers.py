"""Deposits and withdrawals: journals against the ``external`` account, idempotent on transfer id."""

from dataclasses import dataclass
from enum import StrEnum

from psycopg2.extensions import connection

from trading.domain.errors import DomainError, ErrorCode

EXTERNAL_ACCOUNT = "external"
FEE_ACCOUNT = "fees"


class Direction(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"


@dataclass(frozen=True)
class TransferResult:
    transfer_id: str
    applied: bool  # False when this transfer id was already posted (a replay)
    available: int  # the account's available balance of the asset afterwards


def post_transfer(  # noqa: PLR0917 - the contract's signature (docs/architecture.md)
    conn: connection,
    transfer_id: str,
    account_id: str,
    asset: str,
    direction: Direction | str,
    amount: int,
) -> TransferResult:
    """Post a deposit or withdrawal inside the caller's transaction.

    Idempotent on ``transfer_id``: posting the same transfer again changes nothing; reusing the id
    for a different transfer is ``IDEMPOTENCY_CONFLICT``. A withdrawal larger than the available
    balance is ``INSUFFICIENT_FUNDS`` and leaves the transaction as it was.
    """
    direction = Direction(direction)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "amount must be a positive integer of atoms")
    with conn.cursor() as cur:
        cur.execute("SELECT kind FROM accounts WHERE account_id = %s", (account_id,))
        row = cur.fetchone()
        if row is None or row[0] != "USER":
            raise DomainError(ErrorCode.NOT_FOUND, f"no customer account {account_id!r}")
        cur.execute("SELECT 1 FROM assets WHERE asset = %s", (asset,))
        if cur.fetchone() is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"unknown asset {asset!r}")

        cur.execute("SAVEPOINT post_transfer")
        cur.execute(
            """INSERT INTO transfers (transfer_id, account_id, asset, direction, amount)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT (transfer_id) DO NOTHING RETURNING 1""",
            (transfer_id, account_id, asset, direction.value, amount),
        )
        if cur.fetchone() is None:
            cur.execute("RELEASE SAVEPOINT post_transfer")
            return _replayed(conn, transfer_id, account_id, asset, direction, amount)

        cur.execute(
            """INSERT INTO balances (account_id, asset) VALUES (%s, %s)
               ON CONFLICT (account_id, asset) DO NOTHING""",
            (account_id, asset),
        )
        signed = amount if direction is Direction.DEPOSIT else -amount
        cur.execute(
            """UPDATE balances SET available = available + %s, updated_at = now()
               WHERE account_id = %s AND asset = %s AND available + %s >= 0
               RETURNING available""",
            (signed, account_id, asset, signed),
        )
        updated = cur.fetchone()
        if updated is None:
            cur.execute("ROLLBACK TO SAVEPOINT post_transfer")
            cur.execute("RELEASE SAVEPOINT post_transfer")
            raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, f"not enough {asset} available to withdraw")

        journal_id = f"{direction.value.lower()}:{transfer_id}"
        cur.execute("INSERT INTO journals (journal_id, kind) VALUES (%s, %s)", (journal_id, direction.value))
        memo = direction.value.lower()
        cur.execute(
            """INSERT INTO ledger_entries (journal_id, account_id, asset, amount, memo)
               VALUES (%s, %s, %s, %s, %s), (%s, %s, %s, %s, %s)""",
            (journal_id, account_id, asset, signed, memo, journal_id, EXTERNAL_ACCOUNT, asset, -signed, memo),
        )
        cur.execute("RELEASE SAVEPOINT post_transfer")
        return TransferResult(transfer_id, applied=True, available=int(updated[0]))


def _replayed(  # noqa: PLR0917
    conn: connection, transfer_id: str, account_id: str, asset: str, direction: Direction, amount: int
) -> TransferResult:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT account_id, asset, direction, amount FROM transfers WHERE transfer_id = %s",
            (transfer_id,),
        )
        existing = cur.fetchone()
        if existing != (account_id, asset, direction.value, amount):
            raise DomainError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                f"transfer {transfer_id!r} was already posted with different parameters",
            )
        cur.execute(
            "SELECT available FROM balances WHERE account_id = %s AND asset = %s", (account_id, asset)
        )
        row = cur.fetchone()
        return TransferResult(transfer_id, applied=False, available=int(row[0]) if row else 0)
