"""Fault tests with the real ``matcher-service`` process (the container's entrypoint).

Crash points are injected with ``MATCHER_CRASH_AT`` (the process calls ``os._exit`` there, like a
SIGKILL at that instruction); the queue's visibility timeout is 2 s so the crashed batch comes
back within the test. Every test ends with ``check_exactly_once``.
"""

from __future__ import annotations

import itertools

import pytest
from matcher_cloud import MatcherCloud, by_type, check_exactly_once, limit, wait_until
from matcher_service.service import CRASH_EXIT_CODE
from trading.domain.enums import Side
from trading.engine.commands import Cancel

pytestmark = pytest.mark.slow


def crossing_orders(prefix: str = "o"):
    return [
        limit(f"{prefix}1", "alice", Side.SELL, 3_000_000, 10),
        limit(f"{prefix}2", "carol", Side.SELL, 3_000_100, 10),
        limit(f"{prefix}3", "bob", Side.BUY, 3_000_100, 15),
        limit(f"{prefix}4", "dave", Side.BUY, 2_999_900, 4),
    ]


def drained(cloud: MatcherCloud, symbol: str = "BTC-USD"):
    def done() -> bool:
        return cloud.queue_empty() and not cloud.outbox(symbol)

    return done


def test_kill_between_commit_and_put_events_republishes_the_outbox_exactly_once(
    fault_cloud, processes, tmp_path
):
    # Given a batch of crossing orders
    cloud = fault_cloud
    orders = crossing_orders()
    for order in orders:
        cloud.send(order)

    # When the matcher dies right after its transaction committed, before PutEvents
    crashed = cloud.start_matcher(tmp_path / "m1.log", MATCHER_CRASH_AT="after_commit")
    processes.append(crashed)
    assert crashed.wait() == CRASH_EXIT_CODE

    # Then the commit is durable but nothing was published yet
    committed = cloud.checkpoint("BTC-USD")
    assert committed > 0
    assert cloud.outbox("BTC-USD") != []
    assert cloud.drain_events(wait_seconds=0) == []

    # When a fresh matcher starts
    restarted = cloud.start_matcher(tmp_path / "m2.log")
    processes.append(restarted)
    wait_until(drained(cloud))
    _, metrics = restarted.get("/metrics")
    assert restarted.stop() == 0

    # Then the outbox was republished once, and the redelivered commands were not re-applied
    assert cloud.checkpoint("BTC-USD") == committed
    assert metrics["commands_processed"] == 0
    events = check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders])
    assert len(by_type(events, "TradeExecuted")) == 2


PIPELINE = pytest.mark.parametrize("pipeline", ["false", "true"], ids=["inline", "pipelined"])


@PIPELINE
def test_kill_between_put_events_and_outbox_delete_only_replays_identical_events(
    fault_cloud, processes, tmp_path, pipeline
):
    # Given a batch of crossing orders whose matcher dies after PutEvents, before the outbox delete
    cloud = fault_cloud
    orders = crossing_orders()
    for order in orders:
        cloud.send(order)
    crashed = cloud.start_matcher(
        tmp_path / "m1.log", MATCHER_CRASH_AT="after_put_events", MATCHER_PUBLISH_PIPELINE=pipeline
    )
    processes.append(crashed)
    assert crashed.wait() == CRASH_EXIT_CODE
    committed = cloud.checkpoint("BTC-USD")

    # When a fresh matcher starts
    restarted = cloud.start_matcher(tmp_path / "m2.log")
    processes.append(restarted)
    wait_until(drained(cloud))
    assert restarted.stop() == 0

    # Then consumers deduplicating by (symbol, seq) see every event once: replays are identical
    assert cloud.checkpoint("BTC-USD") == committed
    check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders], replays_allowed=True)


@PIPELINE
def test_kill_between_publish_and_message_delete_skips_the_redelivered_commands(
    fault_cloud, processes, tmp_path, pipeline
):
    # Given a batch that was committed and published, but whose messages were never deleted
    cloud = fault_cloud
    orders = crossing_orders()
    for order in orders:
        cloud.send(order)
    crashed = cloud.start_matcher(
        tmp_path / "m1.log", MATCHER_CRASH_AT="after_publish", MATCHER_PUBLISH_PIPELINE=pipeline
    )
    processes.append(crashed)
    assert crashed.wait() == CRASH_EXIT_CODE
    committed = cloud.checkpoint("BTC-USD")

    # When a fresh matcher receives the same messages again
    restarted = cloud.start_matcher(tmp_path / "m2.log")
    processes.append(restarted)
    wait_until(drained(cloud))
    _, metrics = restarted.get("/metrics")
    assert restarted.stop() == 0

    # Then every one of them was skipped: no new seq, no duplicate event
    assert cloud.checkpoint("BTC-USD") == committed
    assert (metrics["commands_processed"], metrics["commands_skipped"]) == (0, len(orders))
    check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders])


def test_the_same_message_delivered_twice_is_applied_once(cloud, processes, tmp_path):
    # Given orders and a cancel, each sent twice (as after the FIFO dedup window or a redrive)
    orders = crossing_orders()
    for order in orders:
        cloud.send(order)
    cloud.send(Cancel("o4", "dave", "BTC-USD"), dedup_id="cancel-o4")
    matcher = cloud.start_matcher(tmp_path / "m1.log")
    processes.append(matcher)
    wait_until(drained(cloud))
    for order in orders:
        cloud.send(order, dedup_id=f"again-{order.order_id}")
    cloud.send(Cancel("o4", "dave", "BTC-USD"), dedup_id="cancel-o4")
    wait_until(drained(cloud))
    assert matcher.stop() == 0

    # When a different process receives the same messages once more (no in-memory memory of them)
    for order in orders:
        cloud.send(order, dedup_id=f"third-{order.order_id}")
    cloud.send(Cancel("o4", "dave", "BTC-USD"), dedup_id="cancel-o4-b")
    cloud.send(Cancel("o4", "dave", "BTC-USD"), dedup_id="cancel-o4")
    second = cloud.start_matcher(tmp_path / "m2.log")
    processes.append(second)
    wait_until(drained(cloud))
    assert second.stop() == 0

    # Then each command took effect once; only the genuinely new cancel id produced an event
    events = check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders])
    assert [c["order_id"] for c in by_type(events, "OrderCanceled")] == ["o4"]
    assert [(r["order_id"], r["request"]) for r in by_type(events, "OrderRejected")] == [("o4", "cancel")]
    assert cloud.order("o4")["commands"] == {"cancel-o4", "cancel-o4-b"}


def test_two_matcher_processes_on_one_symbol_account_for_every_order_once(moto_endpoint, processes, tmp_path):
    # Given per-(account, symbol) groups, so two tasks really take batches of one symbol at once
    cloud = MatcherCloud(moto_endpoint, group_scheme="account_symbol")
    cloud.seed_instruments()
    first = cloud.start_matcher(tmp_path / "m1.log")
    second = cloud.start_matcher(tmp_path / "m2.log")
    processes.extend([first, second])
    wait_until(lambda: first.get("/health")[0] == 200 and second.get("/health")[0] == 200)

    # When many accounts send crossing orders
    accounts = [f"acct{n}" for n in range(8)]
    prices = itertools.cycle([2_999_900, 3_000_000, 3_000_100])
    orders = []
    for n in range(32):
        side = Side.BUY if n % 2 else Side.SELL
        orders.append(limit(f"p{n:03d}", accounts[n % len(accounts)], side, next(prices), 1 + n % 5))
    cloud.send_many(orders)
    wait_until(drained(cloud), timeout=120)
    metrics = [first.get("/metrics")[1], second.get("/metrics")[1]]
    assert first.stop() == 0
    assert second.stop() == 0

    # Then every order was matched exactly once, whichever task won each commit
    check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders])
    assert sum(m["commands_processed"] for m in metrics) == len(orders)


@PIPELINE
def test_sigterm_finishes_the_batch_and_exits_cleanly(cloud, processes, tmp_path, pipeline):
    # Given a running matcher that reports healthy, with work in the queue
    matcher = cloud.start_matcher(tmp_path / "m1.log", MATCHER_PUBLISH_PIPELINE=pipeline)
    processes.append(matcher)
    wait_until(lambda: matcher.get("/health")[0] == 200)
    orders = [
        limit(f"t{n:03d}", f"a{n % 3}", Side.BUY if n % 2 else Side.SELL, 3_000_000, 1) for n in range(24)
    ]
    cloud.send_many(orders)
    wait_until(lambda: matcher.get("/metrics")[1]["batches"] >= 1)

    # When it gets SIGTERM in the middle of the stream
    assert matcher.stop() == 0

    # Then no batch was left half-done: committed work is published, the rest is still queued
    assert cloud.outbox("BTC-USD") == []
    assert "finishing the current batch" in matcher.log()
    # and a successor finishes the rest with every order accounted for exactly once
    successor = cloud.start_matcher(tmp_path / "m2.log")
    processes.append(successor)
    wait_until(drained(cloud))
    assert successor.stop() == 0
    check_exactly_once(cloud, "BTC-USD", [o.order_id for o in orders])
