"""Idempotency on (account, client_order_id) and racing orders against one account's funds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
from order_stack import FakeLambdaContext, OrderStack, call, load_function, place_order_event
from trading.adapters.database import lend
from trading.adapters.holds import PgHolds
from trading.api import wiring
from trading.domain.enums import OrderType, Side
from trading.domain.errors import DomainError, ErrorCode
from trading.services.orders import OrderService, OrderTicket

LIMIT_BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}


@pytest.fixture
def place(order_stack: OrderStack):
    module = load_function("place_order")

    def _place(body: dict) -> tuple[int, dict]:
        return call(module, place_order_event(body))

    return _place


def test_a_retry_returns_the_first_answer_and_creates_no_second_order(order_stack: OrderStack, place) -> None:
    # Given alice placed an order with a client order id
    order_stack.fund("alice", USD="1000")
    first_status, first = place({**LIMIT_BUY, "client_order_id": "retry-me"})
    # When she sends exactly the same request again
    second_status, second = place({**LIMIT_BUY, "client_order_id": "retry-me"})
    # Then she gets the same answer, one hold and one queued command
    assert first_status == second_status == 201
    assert second == first
    assert len(order_stack.holds("alice")) == 1
    assert len(order_stack.receive_commands()) == 1


def test_same_client_order_id_with_another_payload_is_a_conflict(order_stack: OrderStack, place) -> None:
    # Given an order with client order id "dup"
    order_stack.fund("alice", USD="1000")
    assert place({**LIMIT_BUY, "client_order_id": "dup"})[0] == 201
    # When a different order reuses the id
    status, body = place({**LIMIT_BUY, "price": "29000.00", "client_order_id": "dup"})
    # Then 409 IDEMPOTENCY_CONFLICT and still one hold
    assert (status, body["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert len(order_stack.holds("alice")) == 1


def _service_with_own_connection(dsn: str, connections: list[Any], lock: threading.Lock) -> OrderService:
    local = threading.local()

    def connect() -> Any:
        if not hasattr(local, "conn"):
            local.conn = psycopg2.connect(dsn)
            with lock:
                connections.append(local.conn)
        return local.conn

    return OrderService(
        instruments=wiring.instruments(),
        orders=wiring.orders(),
        queue=wiring.queue(),
        holds=PgHolds(lambda: lend(connect())),
    )


def test_concurrent_duplicates_create_exactly_one_order(order_stack: OrderStack) -> None:
    # Given alice with funds and 8 clients sending the same client order id at once
    order_stack.fund("alice", USD="1000")
    connections: list[Any] = []
    service = _service_with_own_connection(order_stack.dsn, connections, threading.Lock())
    ticket = OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "30000.00", "0.0100", client_order_id="race")
    barrier = threading.Barrier(8)
    wiring.idempotency().register_context(FakeLambdaContext())  # in-progress records expire with it

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            answer = wiring.idempotency().run(
                "alice",
                "race",
                {"price": "30000.00"},
                lambda: service.place_order("alice", ticket).model_dump(),
            )
            return str(answer["order_id"])
        except DomainError as exc:
            assert exc.code is ErrorCode.IDEMPOTENCY_CONFLICT
            return "conflict"

    # When they race
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    for conn in connections:
        conn.close()
    # Then exactly one order exists: one hold, one command; every success names that order
    holds = order_stack.holds("alice")
    assert len(holds) == 1
    assert {r for r in results if r != "conflict"} == {holds[0][0]}
    assert len(order_stack.receive_commands()) == 1


def test_racing_orders_never_drive_available_below_zero(order_stack: OrderStack) -> None:
    # Given alice with exactly enough USD for 10 orders of 0.01 BTC at 30000 (+0.2% fee)
    per_order = 300_000_000 + 600_000
    order_stack.fund("alice", USD="3006")
    connections: list[Any] = []
    service = _service_with_own_connection(order_stack.dsn, connections, threading.Lock())
    ticket = OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "30000.00", "0.0100")
    barrier = threading.Barrier(12)

    def attempt(_: int) -> str:
        barrier.wait()
        outcomes = []
        for _ in range(3):
            try:
                service.place_order("alice", ticket)
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(str(exc.code))
        return ",".join(outcomes)

    # When 12 clients each try 3 orders at once (36 attempts for 10 orders' worth of funds)
    with ThreadPoolExecutor(12) as pool:
        results = ",".join(pool.map(attempt, range(12))).split(",")
    for conn in connections:
        conn.close()
    # Then exactly 10 succeed, the rest are INSUFFICIENT_FUNDS, and the books balance to the atom
    assert results.count("ok") == 10
    assert set(results) == {"ok", "INSUFFICIENT_FUNDS"}
    available, held = order_stack.balance("alice", "USD")
    assert (available, held) == (3_006_000_000 - 10 * per_order, 10 * per_order)
    active = [h for h in order_stack.holds("alice") if h[3] == "ACTIVE"]
    assert sum(h[2] for h in active) == held
    assert len(order_stack.receive_commands()) == 10


class _BrokenQueue:
    def send(self, command: dict[str, Any], dedup_id: str) -> None:
        raise ConnectionError("SQS unavailable")


def test_a_failed_enqueue_keeps_the_hold_and_the_pending_order(order_stack: OrderStack) -> None:
    # Given alice with 1000 USD and a queue whose send fails (a timed-out send may still be delivered)
    order_stack.fund("alice", USD="1000")
    conn = psycopg2.connect(order_stack.dsn)
    service = OrderService(
        instruments=wiring.instruments(),
        orders=wiring.orders(),
        queue=_BrokenQueue(),
        holds=PgHolds(lambda: lend(conn)),
    )
    ticket = OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "30000.00", "0.0100", client_order_id="down")
    # When she places an order
    with pytest.raises(DomainError) as failed:
        service.place_order("alice", ticket)
    # Then the outcome is reported unknown and nothing is undone: funds held, the order PENDING
    assert failed.value.code is ErrorCode.SERVICE_UNAVAILABLE
    [(order_id, _, _, status)] = order_stack.holds("alice")
    assert status == "ACTIVE"
    assert order_stack.balance("alice", "USD") == (1_000_000_000 - 300_600_000, 300_600_000)
    assert [o.status for o in wiring.orders().list_by_account("alice")[0]] == ["PENDING"]
    # And a retry with the same client order id once the queue is back completes the same order
    service.queue = wiring.queue()
    order = service.place_order("alice", ticket)
    conn.close()
    assert order.order_id == order_id
    assert order_stack.holds("alice") == [(order.order_id, "USD", 300_600_000, "ACTIVE")]
    assert order_stack.balance("alice", "USD") == (1_000_000_000 - 300_600_000, 300_600_000)
    assert [c["order_id"] for c in order_stack.receive_commands()] == [order.order_id]


def test_a_failed_enqueue_answers_503_and_a_retry_answers_201(order_stack: OrderStack, place) -> None:
    # Given alice with 1000 USD and a queue whose send fails
    order_stack.fund("alice", USD="1000")
    with pytest.MonkeyPatch.context() as broken:
        broken.setattr(wiring.queue(), "send", _BrokenQueue().send)
        # When she places an order with a client order id
        status, body = place({**LIMIT_BUY, "client_order_id": "unknown-1"})
    # Then 503 SERVICE_UNAVAILABLE asks for a retry, and the hold stays
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert "retry with the same client_order_id" in body["message"]
    assert [h[3] for h in order_stack.holds("alice")] == ["ACTIVE"]
    # When she retries once the queue is back
    status, body = place({**LIMIT_BUY, "client_order_id": "unknown-1"})
    # Then the order is placed once: one hold, one command
    assert status == 201
    assert [h[0] for h in order_stack.holds("alice")] == [body["order_id"]]
    assert [c["order_id"] for c in order_stack.receive_commands()] == [body["order_id"]]


def test_a_retry_after_a_crash_between_hold_and_enqueue_resumes_the_same_order(
    order_stack: OrderStack,
) -> None:
    # Given a first attempt that held funds and wrote PENDING, then died before sending
    order_stack.fund("alice", USD="1000")
    conn = psycopg2.connect(order_stack.dsn)

    class _CrashError(Exception):
        pass

    class _CrashingQueue:
        def send(self, command: dict[str, Any], dedup_id: str) -> None:
            raise _CrashError

    crashing = OrderService(
        wiring.instruments(), wiring.orders(), _CrashingQueue(), PgHolds(lambda: lend(conn))
    )
    ticket = OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "30000.00", "0.0100", client_order_id="crash")
    with pytest.raises(DomainError):  # a failed send undoes nothing, just like a crash
        crashing.place_order("alice", ticket)
    # When the client retries with the same client order id
    healthy = OrderService(wiring.instruments(), wiring.orders(), wiring.queue(), PgHolds(lambda: lend(conn)))
    order = healthy.place_order("alice", ticket)
    conn.close()
    # Then the same order is completed: one hold, one command, funds held once
    assert order_stack.holds("alice") == [(order.order_id, "USD", 300_600_000, "ACTIVE")]
    assert order_stack.balance("alice", "USD") == (1_000_000_000 - 300_600_000, 300_600_000)
    assert [c["order_id"] for c in order_stack.receive_commands()] == [order.order_id]
