"""Funds holds against a real PostgreSQL: the guard, uniqueness per order, release and undo."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from trading import admin
from trading.adapters.holds import HoldOutcome, HoldRequest, place_hold, release_hold, undo_hold
from trading.domain.errors import DomainError, ErrorCode


@pytest.fixture
def conn(db_dsn: str):
    connection = psycopg2.connect(db_dsn)
    admin.create_account(connection, "alice")
    with connection, connection.cursor() as cur:
        cur.execute("UPDATE balances SET available = 1000 WHERE account_id = 'alice' AND asset = 'USD'")
    yield connection
    connection.close()


def balance(conn) -> tuple[int, int]:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT available, held FROM balances WHERE account_id = 'alice' AND asset = 'USD'")
        return tuple(cur.fetchone())


def hold(order_id: str, amount: int) -> HoldRequest:
    return HoldRequest(order_id=order_id, account_id="alice", asset="USD", symbol="BTC-USD", amount=amount)


def test_a_hold_moves_available_to_held_and_is_unique_per_order(conn) -> None:
    assert place_hold(conn, hold("o1", 400)) is HoldOutcome.PLACED
    assert balance(conn) == (600, 400)
    # The same order again (a retry) holds nothing more
    assert place_hold(conn, hold("o1", 400)) is HoldOutcome.ALREADY_HELD
    assert balance(conn) == (600, 400)
    # The same id with another amount is a different order: refused
    with pytest.raises(DomainError) as err:
        place_hold(conn, hold("o1", 300))
    assert err.value.code is ErrorCode.DUPLICATE_ORDER_ID


def test_insufficient_funds_writes_nothing(conn) -> None:
    with pytest.raises(DomainError) as err:
        place_hold(conn, hold("o2", 1001))
    assert err.value.code is ErrorCode.INSUFFICIENT_FUNDS
    assert balance(conn) == (1000, 0)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM holds")
        assert cur.fetchone()[0] == 0


def test_an_asset_without_a_balance_row_is_insufficient(conn) -> None:
    with pytest.raises(DomainError) as err:
        place_hold(conn, HoldRequest("o3", "nobody", "USD", "BTC-USD", 1))
    assert err.value.code is ErrorCode.INSUFFICIENT_FUNDS


def test_release_returns_the_remainder_once_and_undo_forgets_the_order(conn) -> None:
    place_hold(conn, hold("o4", 300))
    assert release_hold(conn, "o4") == 300
    assert release_hold(conn, "o4") == 0
    assert balance(conn) == (1000, 0)
    place_hold(conn, hold("o5", 200))
    assert undo_hold(conn, "o5") == 200
    assert balance(conn) == (1000, 0)
    # After an undo the same order id can be placed afresh (a client retry)
    assert place_hold(conn, hold("o5", 200)) is HoldOutcome.PLACED


def test_racing_holds_never_overdraw(db_dsn: str, conn) -> None:
    # Given 1000 available and 40 racing holds of 70 (only 14 fit)
    barrier = threading.Barrier(8)

    def worker(n: int) -> int:
        own = psycopg2.connect(db_dsn)
        barrier.wait()
        placed = 0
        for i in range(5):
            try:
                place_hold(own, hold(f"r{n}-{i}", 70))
                placed += 1
            except DomainError as exc:
                assert exc.code is ErrorCode.INSUFFICIENT_FUNDS
        own.close()
        return placed

    with ThreadPoolExecutor(8) as pool:
        placed = sum(pool.map(worker, range(8)))
    # Then exactly 14 are held and the sum of holds equals held
    assert placed == 14
    assert balance(conn) == (1000 - 14 * 70, 14 * 70)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT sum(remaining) FROM holds WHERE status = 'ACTIVE'")
        assert cur.fetchone()[0] == 14 * 70
