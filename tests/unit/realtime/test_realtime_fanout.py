import json

from realtime_events import book_updated, envelope, order_accepted, trade_executed
from realtime_fakes import FakeSender, FakeStore, instruments
from trading.realtime import channels
from trading.realtime.fanout import Notifier, Record


def _records(*bodies):
    return [Record(f"m-{i}", body) for i, body in enumerate(bodies)]


def _decode(payloads):
    out = []
    for payload in payloads:
        item = json.loads(payload)
        out.extend(item if isinstance(item, list) else [item])
    return out


def _world(gone=(), failing=()):
    store = FakeStore()
    sender = FakeSender(gone=set(gone), failing=set(failing))
    return store, sender, Notifier(store, sender, instruments, max_workers=4)


def test_each_connection_gets_all_its_messages_of_a_batch_in_one_post():
    # Given one connection on book and trades, another on trades only
    store, sender, notifier = _world()
    a = store.add_connection("c-a", "acct-a", "k-a")
    b = store.add_connection("c-b", "acct-b", "k-b")
    store.subscribe(a, channels.book("BTC-USD"))
    store.subscribe(a, channels.trades("BTC-USD"))
    store.subscribe(b, channels.trades("BTC-USD"))
    # When
    report = notifier.deliver(
        _records(
            book_updated(2, [("BUY", 100, 1)]), trade_executed(1, 100, 1), book_updated(3, [("BUY", 100, 0)])
        )
    )
    # Then
    assert len(sender.to("c-a")) == 1 and len(sender.to("c-b")) == 1
    received = [(m["type"], m["seq"]) for m in _decode(sender.to("c-a"))]
    assert received == [("trade", 1), ("delta", 3)]  # seqs 1..3 in one delta
    assert [(m["type"], m["seq"]) for m in _decode(sender.to("c-b"))] == [("trade", 1)]
    assert (report.sent, report.gone, report.failed, report.failed_records) == (2, 0, 0, set())


def test_a_gone_connection_is_removed_and_the_others_still_receive():
    # Given three subscribers, the middle one disconnected without $disconnect
    store, sender, notifier = _world(gone={"c-2"})
    for cid in ("c-1", "c-2", "c-3"):
        store.subscribe(store.add_connection(cid, "acct", "k"), channels.trades("BTC-USD"))
    # When
    report = notifier.deliver(_records(trade_executed(1, 100, 1)))
    # Then
    assert sender.to("c-1") and sender.to("c-3")
    assert "c-2" not in store.connections
    assert store.subscribers("trades:BTC-USD") == ["c-1", "c-3"]
    assert (report.sent, report.gone, report.failed_records) == (2, 1, set())


def test_a_failing_connection_is_counted_and_never_fails_the_batch():
    # Given
    store, sender, notifier = _world(failing={"c-bad"})
    for cid in ("c-bad", "c-good"):
        store.subscribe(store.add_connection(cid, "acct", "k"), channels.book("BTC-USD"))
    # When
    report = notifier.deliver(_records(book_updated(1, [("BUY", 100, 1)])))
    # Then
    assert sender.to("c-good")
    assert "c-bad" in store.connections  # not gone: kept
    assert (report.sent, report.failed, report.failed_records) == (1, 1, set())


def test_private_order_events_reach_only_their_accounts_connections():
    # Given two accounts, each subscribed to its own orders
    store, sender, notifier = _world()
    for cid, account in (("c-1", "acct-1"), ("c-2", "acct-2")):
        store.subscribe(store.add_connection(cid, account, "k"), channels.parse_channel("orders", account))
    # When
    notifier.deliver(_records(order_accepted(1, "acct-1", "o-1"), order_accepted(2, "acct-2", "o-2")))
    # Then
    assert [m["order_id"] for m in _decode(sender.to("c-1"))] == ["o-1"]
    assert [m["order_id"] for m in _decode(sender.to("c-2"))] == ["o-2"]


def test_only_records_behind_a_failed_lookup_are_reported_failed():
    # Given the trades channel's lookup fails; book lookups work
    store, sender, notifier = _world()
    store.subscribe(store.add_connection("c-1", "acct", "k"), channels.book("BTC-USD"))
    store.broken_channels.add("trades:BTC-USD")
    # When
    report = notifier.deliver(_records(book_updated(1, [("BUY", 100, 1)]), trade_executed(2, 100, 1)))
    # Then: the book record is delivered, the trade record will be retried by SQS
    assert [(m["first_seq"], m["seq"]) for m in _decode(sender.to("c-1"))] == [(1, 2)]
    assert report.failed_records == {"m-1"}


def test_malformed_and_unknown_instrument_records_fail_alone_and_unknown_types_are_skipped():
    # Given
    store, sender, notifier = _world()
    store.subscribe(store.add_connection("c-1", "acct", "k"), channels.book("BTC-USD"))
    bodies = [
        "{not json",
        book_updated(1, [("BUY", 1, 1)], symbol="DOGE-USD"),
        envelope("Heartbeat", {"symbol": "BTC-USD", "seq": 1}),
        book_updated(5, [("BUY", 100, 1)]),
    ]
    # When
    report = notifier.deliver(_records(*bodies))
    # Then
    assert report.failed_records == {"m-0", "m-1"}
    assert report.ignored == 1
    assert [m["seq"] for m in _decode(sender.to("c-1"))] == [5]
