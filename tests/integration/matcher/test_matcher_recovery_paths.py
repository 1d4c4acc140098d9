"""Recovery paths that need no process kill: unknown commit outcomes and abandoned outboxes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from matcher_cloud import check_exactly_once, limit
from matcher_service.store import BookStore, PreparedCommit
from trading.domain.enums import Side


class LostResponseStore(BookStore):
    """The transaction lands, but its response is lost (a timeout): the outcome is unknown."""

    lose_next = True

    def commit(self, prepared: PreparedCommit) -> None:
        super().commit(prepared)
        if self.lose_next:
            self.lose_next = False
            raise ClientError({"Error": {"Code": "RequestTimeout", "Message": "lost"}}, "TransactWriteItems")


def test_a_commit_whose_response_is_lost_is_published_once_and_not_reapplied(cloud, make_matcher):
    # Given a matcher whose first commit succeeds but reports an error
    matcher = make_matcher()
    store = matcher.store
    matcher.store = LostResponseStore(
        store._ddb, store.orders_table, store.books_table, store.instruments_table
    )
    matcher.recover()
    orders = [limit("s1", "alice", Side.SELL, 3_000_000, 5), limit("b1", "bob", Side.BUY, 3_000_000, 3)]
    for order in orders:
        cloud.send(order)

    # When it handles the batch
    matcher.poll_once()

    # Then it reloaded, found its own commit (markers), skipped the commands, and published
    # that commit's outbox (its token) exactly once
    assert matcher.metrics.commits_rejected == 1
    assert matcher.metrics.recoveries >= 3  # 2 symbols at start + the reload
    check_exactly_once(cloud, "BTC-USD", ["s1", "b1"])
    assert cloud.queue_empty()


def test_a_live_task_republishes_an_outbox_a_dead_task_left(cloud, make_matcher, monkeypatch):
    # Given a running task, and another that committed a batch and died before publishing it
    live = make_matcher()
    live.recover()
    dead = make_matcher()
    dead.recover()
    cloud.send(limit("s1", "alice", Side.SELL, 3_000_000, 5))

    class DiedError(Exception):
        pass

    def die(point: str) -> None:
        if point == "after_commit":
            raise DiedError

    dead._crash = die
    with pytest.raises(DiedError):
        dead.poll_once()
    assert cloud.outbox("BTC-USD")
    assert cloud.drain_events(wait_seconds=0) == []

    # When the running task sweeps (items count as abandoned at once here, not after 10 s)
    monkeypatch.setattr("matcher_service.service.OUTBOX_ABANDONED_MS", -60_000)
    live.sweep_outbox()

    # Then the events are out once and the outbox is empty
    events = check_exactly_once(cloud, "BTC-USD", ["s1"])
    assert [e["detail-type"] for e in events][:1] == ["OrderAccepted"]
