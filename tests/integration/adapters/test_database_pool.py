"""The bounded connection pool (``trading.adapters.database``) against the embedded PostgreSQL:
more threads than connections never open more backends than the maximum, a borrow always goes
back (also on an exception), a wait is bounded by the timeout, and a killed backend is replaced.
Backends are counted by PostgreSQL itself (``pg_stat_activity``), not by the pool."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
from trading.adapters.database import ConnectionPool, PoolTimeout, is_transient

APP = "pool-under-test"


@pytest.fixture
def admin(db_dsn: str) -> Iterator[Any]:
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    yield conn
    conn.close()


def backends(admin: Any) -> list[int]:
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            (APP,),
        )
        return [int(pid) for (pid,) in cur.fetchall()]


def pool(db_dsn: str, max_size: int, timeout_s: float = 10.0) -> ConnectionPool:
    return ConnectionPool(
        lambda: psycopg2.connect(db_dsn, application_name=APP), max_size=max_size, timeout_s=timeout_s
    )


def test_more_threads_than_connections_never_open_more_backends_than_the_maximum(
    db_dsn: str, admin: Any
) -> None:
    # Given a pool of 3 and 12 threads that each borrow 25 times
    connections = pool(db_dsn, max_size=3)
    sampled: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sampled.append(len(backends(admin)))
            time.sleep(0.002)

    def work(worker: int) -> int:
        pids = set()
        for _ in range(25):
            with connections.connection() as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid(), pg_sleep(0.002)")
                pids.add(cur.fetchone()[0])
        return len(pids)

    sampler = threading.Thread(target=sample)
    sampler.start()
    # When they all run at once
    with ThreadPoolExecutor(12) as threads:
        list(threads.map(work, range(12)))
    done.set()
    sampler.join()
    # Then PostgreSQL never saw more than 3 of the pool's backends, though the threads had to wait
    stats = connections.stats()
    assert max(sampled) <= 3
    assert max(sampled) >= 1
    assert stats.peak_size == 3
    assert stats.waits > 0
    assert (stats.borrows, stats.in_use, stats.size, stats.opened) == (300, 0, 3, 3)
    # And every borrowed connection came back: the 3 stay open for the next borrower
    assert len(backends(admin)) == 3
    connections.close()
    deadline = time.monotonic() + 5
    while backends(admin) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backends(admin) == []


def test_a_borrow_is_returned_and_rolled_back_when_the_work_fails(db_dsn: str) -> None:
    # Given a one-connection pool
    connections = pool(db_dsn, max_size=1)
    # When the work inside a borrow writes and then fails
    with pytest.raises(ZeroDivisionError), connections.connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO accounts (account_id) VALUES ('rolled-back')")
        _ = 1 / 0
    # Then the connection is back, healthy, and nothing of the failed work was committed
    with connections.connection() as again, again.cursor() as cur:
        assert again is conn
        cur.execute("SELECT count(*) FROM accounts WHERE account_id = 'rolled-back'")
        assert cur.fetchone()[0] == 0
    # And work that ends normally is committed when the borrow ends
    with connections.connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO accounts (account_id) VALUES ('committed')")
    check = psycopg2.connect(db_dsn)
    with check, check.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts WHERE account_id = 'committed'")
        assert cur.fetchone()[0] == 1
    check.close()
    assert connections.stats().in_use == 0
    connections.close()


def test_work_that_uses_with_conn_itself_runs_inside_a_borrow(db_dsn: str) -> None:
    # Given the ledger's style of code: ``with conn`` inside the unit of work
    connections = pool(db_dsn, max_size=1)
    with connections.connection() as conn:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO accounts (account_id) VALUES ('nested')")
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM accounts WHERE account_id = 'nested'")
            assert cur.fetchone()[0] == 1
    connections.close()


def test_a_wait_for_a_busy_pool_ends_in_a_transient_timeout(db_dsn: str) -> None:
    # Given a one-connection pool whose connection another thread holds
    connections = pool(db_dsn, max_size=1, timeout_s=0.2)
    borrowed, release = threading.Event(), threading.Event()

    def hold() -> None:
        with connections.connection():
            borrowed.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert borrowed.wait(10)
    # When another borrow waits / Then it gives up with PoolTimeout, a transient database error
    with pytest.raises(PoolTimeout) as timed_out:
        connections.connection().__enter__()
    assert is_transient(timed_out.value)
    assert isinstance(timed_out.value, psycopg2.OperationalError)
    assert "all 1 in use" in str(timed_out.value)
    release.set()
    holder.join()
    # And once the connection is back the next borrow gets it
    with connections.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    stats = connections.stats()
    assert (stats.waits, stats.timeouts, stats.peak_size, stats.in_use) == (1, 1, 1, 0)
    connections.close()


def test_waiters_are_served_first_come_first_served(db_dsn: str) -> None:
    # Given a one-connection pool whose connection is held, and three borrowers queued one by one
    connections = pool(db_dsn, max_size=1)
    served: list[int] = []
    held = connections.connection()
    held.__enter__()

    def borrow(n: int) -> None:
        with connections.connection():
            served.append(n)

    threads = []
    for n in range(3):
        threads.append(threading.Thread(target=borrow, args=(n,)))
        threads[-1].start()
        deadline = time.monotonic() + 10
        while connections.stats().waits < n + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    # When the connection comes back / Then it goes to the waiters in the order they came
    held.__exit__(None, None, None)
    for thread in threads:
        thread.join(10)
    assert served == [0, 1, 2]
    assert (connections.stats().opened, connections.stats().timeouts) == (1, 0)
    connections.close()


def test_a_killed_backend_is_replaced_on_the_next_borrow(db_dsn: str, admin: Any) -> None:
    # Given a pool whose one connection is idle between borrows
    connections = pool(db_dsn, max_size=1)
    with connections.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    # When PostgreSQL terminates its backend (failover, proxy idle timeout, an operator)
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while pid in backends(admin) and time.monotonic() < deadline:
        time.sleep(0.01)
    # Then the next borrow gets a fresh, working connection without an error
    with connections.connection() as fresh, fresh.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
    stats = connections.stats()
    assert (stats.discarded, stats.opened, stats.size) == (1, 2, 1)
    connections.close()


def test_a_backend_killed_during_the_work_is_discarded_not_reused(db_dsn: str, admin: Any) -> None:
    # Given a borrowed connection whose backend dies in the middle of the work
    connections = pool(db_dsn, max_size=1)
    with pytest.raises(psycopg2.OperationalError) as lost, connections.connection() as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(5)")
    # Then the error is a transient one, and the broken connection was thrown away
    assert is_transient(lost.value)
    assert connections.stats().discarded == 1
    with connections.connection() as fresh, fresh.cursor() as cur:
        cur.execute("SELECT 1")
        assert fresh is not conn
    connections.close()


def test_a_refused_connection_gives_its_slot_back(db_dsn: str) -> None:
    # Given a pool of 1 whose database refuses connections at first
    attempts: list[int] = []

    def connect() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise psycopg2.OperationalError("connection refused")
        return psycopg2.connect(db_dsn, application_name=APP)

    connections = ConnectionPool(connect, max_size=1, timeout_s=0.2)
    # When a borrow fails to connect / Then the error is transient and the slot is free again
    with pytest.raises(psycopg2.OperationalError) as refused, connections.connection():
        pass
    assert is_transient(refused.value) and not isinstance(refused.value, PoolTimeout)
    with connections.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    assert (connections.stats().size, connections.stats().timeouts) == (1, 0)
    connections.close()
