import json

import pytest
from pydantic import ValidationError
from realtime_events import book_updated, envelope, order_accepted, trade_executed
from realtime_fakes import instruments
from trading.realtime.events import parse_event
from trading.realtime.messages import UnknownInstrumentError, render
from trading.realtime.sender import MAX_BATCH_BYTES, frames


def _render(*bodies):
    return render([parse_event(b) for b in bodies], instruments)


def test_book_delta_carries_its_seq_range_and_exact_decimal_levels():
    # Given a BookUpdated for BTC-USD (price 2 decimals, quantity 4 decimals)
    body = book_updated(12, [("BUY", 3000050, 1500), ("SELL", 3000100, 0)])
    # When
    [message] = _render(body)
    # Then
    assert message.channel_key == "book:BTC-USD"
    assert message.body == {
        "type": "delta",
        "channel": "book:BTC-USD",
        "first_seq": 12,
        "seq": 12,
        "changes": [["BUY", "30000.50", "0.1500"], ["SELL", "30001.00", "0.0000"]],
    }


def _deltas(*bodies):
    return [m.body for m in _render(*bodies) if m.channel_key.startswith("book:")]


def test_consecutive_seqs_of_any_event_type_form_one_delta_with_each_levels_last_value():
    # Given seqs 5..8: a book change, an order event, two more book changes touching one level twice
    bodies = [
        book_updated(5, [("BUY", 100, 3)]),
        order_accepted(6, "acct-1", "o-1"),
        book_updated(7, [("SELL", 200, 1)]),
        book_updated(8, [("BUY", 100, 0)]),
    ]
    # When
    [delta] = _deltas(*reversed(bodies))
    # Then
    assert (delta["first_seq"], delta["seq"]) == (5, 8)
    assert delta["changes"] == [["SELL", "2.00", "0.0001"], ["BUY", "1.00", "0.0000"]]


def test_a_missing_seq_splits_the_deltas_so_the_client_can_see_the_hole():
    # Given seq 3 is not in this batch (it is in another one, or failed)
    bodies = [
        book_updated(2, [("BUY", 100, 1)]),
        trade_executed(4, 100, 1),
        book_updated(5, [("BUY", 100, 2)]),
    ]
    # When
    deltas = _deltas(*bodies)
    # Then
    assert [(d["first_seq"], d["seq"]) for d in deltas] == [(2, 2), (4, 5)]


def test_a_run_without_book_changes_still_reports_its_seqs():
    [delta] = _deltas(order_accepted(9, "acct-1", "o-1"))
    assert (delta["first_seq"], delta["seq"], delta["changes"]) == (9, 9, [])


def test_a_redelivered_event_is_rendered_once():
    body = trade_executed(3, 100, 1)
    messages = _render(body, body)
    assert [m.channel_key for m in messages].count("trades:BTC-USD") == 1


def test_symbols_have_separate_runs():
    bodies = [book_updated(1, [("BUY", 1, 1)]), book_updated(2, [("BUY", 1, 1)], symbol="ETH-USD")]
    assert [(d["channel"], d["first_seq"], d["seq"]) for d in _deltas(*bodies)] == [
        ("book:BTC-USD", 1, 1),
        ("book:ETH-USD", 2, 2),
    ]


def test_trade_goes_to_trades_ticker_and_both_private_order_channels():
    # Given
    body = trade_executed(7, price=3000000, quantity=25, maker="acct-a", taker="acct-b", taker_side="SELL")
    # When
    messages = {m.channel_key: m.body for m in _render(body)}
    # Then
    assert set(messages) == {
        "trades:BTC-USD",
        "ticker:BTC-USD",
        "orders:acct-a",
        "orders:acct-b",
        "book:BTC-USD",
    }
    assert messages["trades:BTC-USD"] == {
        "type": "trade",
        "channel": "trades:BTC-USD",
        "seq": 7,
        "trade_id": "BTC-USD:7",
        "price": "30000.00",
        "quantity": "0.0025",
        "taker_side": "SELL",
        "time": "2026-11-25T12:00:01.000000Z",
    }
    maker, taker = messages["orders:acct-a"], messages["orders:acct-b"]
    assert (maker["order_id"], maker["side"], maker["liquidity"]) == ("o-maker-7", "BUY", "MAKER")
    assert (taker["order_id"], taker["side"], taker["liquidity"]) == ("o-taker-7", "SELL", "TAKER")


def test_a_fill_never_reveals_the_counterparty():
    # Given
    body = trade_executed(7, price=3000000, quantity=25, maker="acct-a", taker="acct-b")
    # When
    messages = {m.channel_key: json.dumps(m.body) for m in _render(body)}
    # Then
    assert "acct-b" not in messages["orders:acct-a"] and "o-taker-7" not in messages["orders:acct-a"]
    assert "acct-a" not in messages["orders:acct-b"] and "o-maker-7" not in messages["orders:acct-b"]


def test_ticker_summarises_the_batchs_trades_with_the_last_trade_as_price():
    # Given three trades arriving out of order
    bodies = [
        trade_executed(5, price=3000000, quantity=10),
        trade_executed(9, price=2990000, quantity=5),
        trade_executed(7, price=3010000, quantity=1),
    ]
    # When
    tickers = [m.body for m in _render(*bodies) if m.channel_key == "ticker:BTC-USD"]
    # Then
    assert tickers == [
        {
            "type": "ticker",
            "channel": "ticker:BTC-USD",
            "seq": 9,
            "price": "29900.00",
            "quantity": "0.0005",
            "high": "30100.00",
            "low": "29900.00",
            "volume": "0.0016",
            "trades": 3,
            "time": "2026-11-25T12:00:01.000000Z",
        }
    ]


def test_messages_come_out_in_seq_order_per_symbol():
    # Given
    bodies = [trade_executed(seq, 100, 1) for seq in (3, 1, 2)]
    # When
    seqs = [m.seq for m in _render(*bodies) if m.channel_key == "trades:BTC-USD"]
    # Then
    assert seqs == [1, 2, 3]


def test_order_event_is_rendered_for_its_account_only():
    # Given
    body = order_accepted(4, "acct-1", "o-1")
    # When
    [message] = [m for m in _render(body) if m.channel_key.startswith("orders:")]
    # Then
    assert message.channel_key == "orders:acct-1"
    assert message.body == {
        "type": "order",
        "channel": "orders",
        "event": "accepted",
        "symbol": "BTC-USD",
        "seq": 4,
        "order_id": "o-1",
        "client_order_id": "c-1",
        "side": "BUY",
        "order_type": "LIMIT",
        "price": "30000.50",
        "quantity": "0.1500",
        "status": "OPEN",
    }


def test_rejection_for_an_unknown_symbol_still_reaches_its_account():
    # Given the matcher rejects an order for a symbol with no instrument (seq 0)
    body = envelope(
        "OrderRejected",
        {"symbol": "DOGE-USD", "seq": 0, "order_id": "o-9", "account_id": "acct-1", "code": "UNKNOWN_SYMBOL"},
    )
    # When
    [message] = _render(body)
    # Then
    assert message.channel_key == "orders:acct-1"
    assert message.body["event"] == "rejected" and message.body["code"] == "UNKNOWN_SYMBOL"


def test_market_data_for_an_unknown_instrument_is_an_error_not_a_guess():
    with pytest.raises(UnknownInstrumentError):
        _render(book_updated(1, [("BUY", 1, 1)], symbol="DOGE-USD"))


def test_other_detail_types_are_ignored_and_malformed_details_raise():
    assert parse_event(envelope("SomethingElse", {"symbol": "BTC-USD", "seq": 1})) is None
    with pytest.raises(ValidationError):
        parse_event(envelope("BookUpdated", {"symbol": "BTC-USD", "seq": 1, "changes": [{"side": "UP"}]}))
    with pytest.raises(ValidationError):
        parse_event("not json")


def test_frames_pack_messages_in_order_and_stay_under_the_batch_limit():
    # Given
    messages = [{"type": "trade", "n": i, "pad": "x" * 500} for i in range(200)]
    # When
    packed = frames(messages)
    # Then
    decoded = []
    for frame in packed:
        assert len(frame) <= MAX_BATCH_BYTES
        item = json.loads(frame)
        decoded.extend(item if isinstance(item, list) else [item])
    assert [m["n"] for m in decoded] == list(range(200))
    assert len(packed) > 1


def test_a_single_message_is_sent_as_a_plain_object():
    assert json.loads(frames([{"type": "pong"}])[0]) == {"type": "pong"}
