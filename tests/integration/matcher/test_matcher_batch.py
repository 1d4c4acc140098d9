"""The matcher in-process against moto: one batch, one transaction, the right items and events."""

from __future__ import annotations

from matcher_cloud import by_type, limit
from trading.domain.enums import Side
from trading.engine.commands import Amend, Cancel


def test_a_crossing_batch_commits_trades_order_states_levels_and_one_checkpoint(cloud, make_matcher):
    # Given three resting asks and a buy that crosses two and a half of them, all in one batch
    matcher = make_matcher()
    matcher.recover()
    for command in (
        limit("s1", "alice", Side.SELL, 3_000_000, 10),
        limit("s2", "alice", Side.SELL, 3_000_100, 10),
        limit("s3", "carol", Side.SELL, 3_000_200, 10),
        limit("b1", "bob", Side.BUY, 3_000_200, 25),
    ):
        cloud.send(command)

    # When the matcher handles one poll
    handled = matcher.poll_once()

    # Then all four were applied in one commit
    assert handled == 4
    assert matcher.metrics.commits == 1
    assert cloud.order("s1")["status"] == "FILLED"
    assert cloud.order("s2")["status"] == "FILLED"
    s3 = cloud.order("s3")
    assert (s3["status"], s3["filled_quantity"], s3["remaining_quantity"]) == ("PARTIALLY_FILLED", 5, 5)
    b1 = cloud.order("b1")
    assert (b1["status"], b1["filled_quantity"], b1["remaining_quantity"]) == ("FILLED", 25, 0)
    # and the L2 levels hold only what rests
    assert cloud.levels("BTC-USD") == {("SELL", 3_000_200): 5}
    # and the checkpoint is the last event's seq, with nothing left in the outbox or the queue
    events = cloud.drain_events()
    seqs = sorted(e["detail"]["seq"] for e in events)
    assert seqs == list(range(1, len(seqs) + 1))
    assert cloud.checkpoint("BTC-USD") == seqs[-1]
    assert not [k for k in cloud.book_items("BTC-USD") if k.startswith("outbox#")]
    assert cloud.queue_empty()
    trades = by_type(events, "TradeExecuted")
    assert [(t["maker_order_id"], t["quantity"], t["price"]) for t in trades] == [
        ("s1", 10, 3_000_000),
        ("s2", 10, 3_000_100),
        ("s3", 5, 3_000_200),
    ]
    assert all(t["trade_id"] == f"BTC-USD:{t['seq']}" and t["taker_side"] == "BUY" for t in trades)
    assert {e["source"] for e in events} == {"trading.matcher"}


def test_cancel_and_amend_update_the_order_and_the_level(cloud, make_matcher):
    # Given a resting bid
    matcher = make_matcher()
    matcher.recover()
    cloud.send(limit("b1", "bob", Side.BUY, 2_900_000, 10))
    cloud.send(limit("b2", "bob", Side.BUY, 2_900_000, 7))
    matcher.poll_once()

    # When b1 is amended down and b2 canceled
    cloud.send(Amend("b1", "bob", "BTC-USD", quantity=4), dedup_id="amend-1")
    cloud.send(Cancel("b2", "bob", "BTC-USD"), dedup_id="cancel-1")
    matcher.poll_once()

    # Then the items, the level and the events agree
    assert (cloud.order("b1")["remaining_quantity"], cloud.order("b1")["status"]) == (4, "OPEN")
    assert cloud.order("b1")["commands"] == {"amend-1"}
    assert cloud.order("b2")["status"] == "CANCELED"
    assert cloud.levels("BTC-USD") == {("BUY", 2_900_000): 4}
    events = cloud.drain_events()
    assert [c["remaining_quantity"] for c in by_type(events, "OrderCanceled")] == [7]
    assert [(a["order_id"], a["quantity"]) for a in by_type(events, "OrderAmended")] == [("b1", 4)]


def test_a_halted_symbol_rejects_new_orders_but_cancels_still_work(cloud, make_matcher):
    # Given a resting order, then the symbol is halted
    matcher = make_matcher()
    matcher.recover()
    cloud.send(limit("b1", "bob", Side.BUY, 2_900_000, 10))
    matcher.poll_once()
    cloud.set_status("BTC-USD", "HALTED")

    # When a new order and a cancel arrive
    cloud.send(limit("b2", "bob", Side.BUY, 2_900_000, 10))
    cloud.send(Cancel("b1", "bob", "BTC-USD"), dedup_id="cancel-b1")
    matcher.poll_once()

    # Then the new order is rejected as halted and the cancel went through
    b2 = cloud.order("b2")
    assert (b2["status"], b2["reject_code"]) == ("REJECTED", "INSTRUMENT_HALTED")
    assert cloud.order("b1")["status"] == "CANCELED"
    rejected = by_type(cloud.drain_events(), "OrderRejected")
    assert [(r["order_id"], r["code"]) for r in rejected] == [("b2", "INSTRUMENT_HALTED")]


def test_recovery_rebuilds_the_book_with_price_time_priority(cloud, make_matcher):
    # Given two bids at one price and one better bid, committed by a first matcher
    first = make_matcher()
    first.recover()
    for command in (
        limit("b1", "bob", Side.BUY, 2_900_000, 3),
        limit("b2", "dave", Side.BUY, 2_900_000, 3),
        limit("b3", "erin", Side.BUY, 2_900_100, 3),
    ):
        cloud.send(command)
    first.poll_once()

    # When a second matcher starts from the tables and a sell sweeps 5
    second = make_matcher()
    second.recover()
    cloud.send(limit("s1", "alice", Side.SELL, 2_900_000, 5))
    second.poll_once()

    # Then b3 (better price) fills first, then b1 (earlier at the same price), b2 untouched
    assert cloud.order("b3")["status"] == "FILLED"
    assert (cloud.order("b1")["filled_quantity"], cloud.order("b2")["filled_quantity"]) == (2, 0)
    assert second.books["BTC-USD"].book.state_hash() != ""
    seqs = sorted(e["detail"]["seq"] for e in cloud.drain_events())
    assert seqs == list(range(1, len(seqs) + 1))
    assert cloud.checkpoint("BTC-USD") == seqs[-1]


def test_a_task_leaves_other_shards_symbols_in_the_queue(cloud, make_matcher):
    # Given a task that owns only ETH-USD
    eth_only = make_matcher(MATCHER_SYMBOLS="ETH-USD")
    eth_only.recover()
    assert set(eth_only.books) == {"ETH-USD"}

    # When it receives a BTC-USD order
    cloud.send(limit("b1", "bob", Side.BUY, 2_900_000, 1))
    eth_only.poll_once()

    # Then it neither applies nor deletes it: the BTC-USD task gets it
    assert cloud.order("b1")["status"] == "PENDING"
    btc = make_matcher(MATCHER_SYMBOLS="BTC-USD")
    btc.recover()
    assert btc.poll_once() == 1
    assert cloud.order("b1")["status"] == "OPEN"
