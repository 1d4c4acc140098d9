"""The request path when PostgreSQL is gone: 503 SERVICE_UNAVAILABLE with Retry-After, never 500,
nothing held or queued; and a backend killed between requests is replaced without the caller
noticing. Handlers run in-process against the embedded PostgreSQL and moto."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg2
import pytest
from localcloud.postgres import free_port
from order_stack import (
    FakeLambdaContext,
    OrderStack,
    api_event,
    load_function,
    place_order_event,
    sample_event,
)
from trading.adapters import database
from trading.api import wiring

LIMIT_BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}


def respond(module: Any, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = module.handler(event, FakeLambdaContext())
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key.lower(), values[0])
    return int(response["statusCode"]), headers, json.loads(response["body"])


@pytest.fixture
def place_order(order_stack: OrderStack) -> Any:
    module = load_function("place_order")
    return lambda body: respond(module, place_order_event(body))


def balances_event() -> dict[str, Any]:
    return api_event(
        sample_event("account_queries", "balances"),
        method="GET",
        path="/v1/balances",
        resource="/v1/balances",
    )


def writer_backends(order_stack: OrderStack) -> list[int]:
    conn = psycopg2.connect(order_stack.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'trading-writer'"
            )
            return [int(pid) for (pid,) in cur.fetchall()]
    finally:
        conn.close()


def test_a_refused_database_answers_503_with_retry_after_and_holds_nothing(
    order_stack: OrderStack, place_order: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice with 1000 USD, and PostgreSQL refusing connections (nothing listens on the port)
    order_stack.fund("alice", USD="1000")
    monkeypatch.setenv("DB_PORT", str(free_port()))
    wiring.reset()
    # When she places an order, and asks for her balances
    status, headers, body = place_order({**LIMIT_BUY, "client_order_id": "outage-1"})
    balances = respond(load_function("account_queries"), balances_event())
    # Then both answer 503 SERVICE_UNAVAILABLE with a Retry-After, not 500
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert int(headers["retry-after"]) >= 1
    assert (balances[0], balances[2]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert int(balances[1]["retry-after"]) >= 1
    # And nothing was held, recorded or queued
    assert order_stack.holds("alice") == []
    assert order_stack.receive_commands() == []
    assert wiring.orders().list_by_account("alice")[0] == []
    # When the database is back and she retries with the same client order id / Then it is placed once
    monkeypatch.setenv("DB_PORT", order_stack.env["DB_PORT"])
    wiring.reset()
    status, _, body = place_order({**LIMIT_BUY, "client_order_id": "outage-1"})
    assert status == 201, body
    assert [h[0] for h in order_stack.holds("alice")] == [body["order_id"]]
    assert [c["order_id"] for c in order_stack.receive_commands()] == [body["order_id"]]


def test_a_pool_with_every_connection_busy_answers_503_after_its_timeout(
    order_stack: OrderStack, place_order: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a one-connection writer pool that another request is holding on to
    order_stack.fund("alice", USD="1000")
    monkeypatch.setenv("DB_POOL_MAX", "1")
    monkeypatch.setenv("DB_POOL_TIMEOUT_SECONDS", "0.2")
    wiring.reset()
    borrowed, release = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        with database.writer():
            borrowed.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_writer)
    holder.start()
    assert borrowed.wait(10)
    try:
        # When she places an order
        status, headers, body = place_order({**LIMIT_BUY, "client_order_id": "busy-1"})
    finally:
        release.set()
        holder.join()
    # Then 503 with Retry-After: the wait for a connection is bounded, the pool never grew
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert int(headers["retry-after"]) >= 1
    writer = database.stats()["writer"]
    assert (writer.timeouts, writer.peak_size) == (1, 1)
    assert order_stack.holds("alice") == []
    # When the connection is free again / Then the same request succeeds
    status, _, body = place_order({**LIMIT_BUY, "client_order_id": "busy-1"})
    assert status == 201, body


def test_a_backend_killed_between_requests_is_replaced_transparently(
    order_stack: OrderStack, place_order: Any
) -> None:
    # Given a warm writer connection (one order placed)
    order_stack.fund("alice", USD="1000")
    status, _, _ = place_order({**LIMIT_BUY, "client_order_id": "warm-1"})
    assert status == 201
    [pid] = writer_backends(order_stack)
    # When its backend is terminated (failover, proxy idle timeout, an operator) and has exited
    admin = psycopg2.connect(order_stack.dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()
    deadline = time.monotonic() + 10
    while pid in writer_backends(order_stack) and time.monotonic() < deadline:
        time.sleep(0.02)
    # Then the next order is placed on a fresh connection, without an error
    status, _, body = place_order({**LIMIT_BUY, "client_order_id": "after-kill"})
    assert status == 201, body
    assert pid not in writer_backends(order_stack)
    assert database.stats()["writer"].discarded == 1
    assert len(order_stack.holds("alice")) == 2
