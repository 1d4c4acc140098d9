"""The wire codec: commands decode strictly, events round-trip through JSON."""

import orjson
import pytest
from trading.domain.command_wire import compact_command
from trading.domain.enums import OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine import Amend, Cancel, Command, MatchingEngine, NewOrder, Trade
from trading.engine.codec import (
    CommandDecodeError,
    decode_command,
    decode_event,
    decode_events,
    encode_command,
    encode_event,
    encode_events,
)

from .helpers import SYMBOL, buy, market, sell

NEW_WIRE = {
    "type": "new",
    "order_id": "o-1",
    "account_id": "acc-1",
    "symbol": "BTC-USD",
    "side": "BUY",
    "order_type": "LIMIT",
    "price": 3000050,
    "quantity": 15,
    "quote_budget": None,
    "time_in_force": "GTC",
    "post_only": False,
    "stp": "CANCEL_NEWEST",
    "client_order_id": "c-1",
}


def test_decodes_the_documented_new_order_message() -> None:
    # When the architecture doc's example is decoded
    command = decode_command(orjson.dumps(NEW_WIRE))
    # Then every field maps onto the command
    assert command == NewOrder(
        "o-1",
        "acc-1",
        "BTC-USD",
        Side.BUY,
        OrderType.LIMIT,
        3000050,
        15,
        TimeInForce.GTC,
        False,
        StpMode.CANCEL_NEWEST,
        None,
        "c-1",
    )


def test_decodes_cancel_and_amend() -> None:
    cancel = b'{"type": "cancel", "order_id": "o", "account_id": "a", "symbol": "BTC-USD"}'
    amend = (
        b'{"type": "amend", "order_id": "o", "account_id": "a", "symbol": "BTC-USD", '
        b'"price": 5, "quantity": null}'
    )
    assert decode_command(cancel) == Cancel("o", "a", "BTC-USD")
    assert decode_command(amend) == Amend("o", "a", "BTC-USD", 5, None)


def test_explicit_nulls_take_the_defaults() -> None:
    # Given null for the optional enum fields
    wire = NEW_WIRE | {"time_in_force": None, "stp": None}
    # When decoded
    command = decode_command(orjson.dumps(wire))
    # Then the defaults apply
    assert isinstance(command, NewOrder)
    assert (command.time_in_force, command.stp) == (TimeInForce.GTC, StpMode.CANCEL_NEWEST)


def test_optional_new_order_fields_take_their_defaults() -> None:
    # Given a minimal market order
    wire = {k: NEW_WIRE[k] for k in ("type", "order_id", "account_id", "symbol", "side")} | {
        "order_type": "MARKET",
        "quantity": 10,
    }
    # When decoded
    command = decode_command(orjson.dumps(wire))
    # Then defaults apply
    assert isinstance(command, NewOrder)
    assert (command.price, command.time_in_force, command.post_only, command.stp) == (
        None,
        TimeInForce.GTC,
        False,
        StpMode.CANCEL_NEWEST,
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{not json", ErrorCode.MALFORMED_JSON),
        (b"[1, 2]", ErrorCode.VALIDATION_ERROR),
        (b'{"type": "explode"}', ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"extra": 1}), ErrorCode.UNKNOWN_FIELD),
        (orjson.dumps(NEW_WIRE | {"side": "UP"}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"price": "30000.50"}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"price": 1.5}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"quantity": True}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"post_only": 1}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps({k: v for k, v in NEW_WIRE.items() if k != "order_id"}), ErrorCode.VALIDATION_ERROR),
        (b'{"type": "cancel", "order_id": "o", "account_id": "a"}', ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"side": ["BUY"]}), ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"stp": {"a": 1}}), ErrorCode.VALIDATION_ERROR),
        (b'{"type": ["new"]}', ErrorCode.VALIDATION_ERROR),
        (orjson.dumps(NEW_WIRE | {"order_id": ""}), ErrorCode.VALIDATION_ERROR),
    ],
)
def test_bad_wire_messages_raise_decode_errors_with_codes(data: bytes, code: ErrorCode) -> None:
    with pytest.raises(CommandDecodeError) as caught:
        decode_command(data)
    assert caught.value.code is code


@pytest.mark.parametrize(
    "command",
    [
        buy("b1", 100, 10, post_only=True),
        market("m1", Side.BUY, None, budget=12345),
        Cancel("b1", "alice", SYMBOL),
        Amend("b1", "alice", SYMBOL, price=105),
    ],
)
def test_commands_round_trip(command) -> None:
    assert decode_command(encode_command(command)) == command


def test_encoding_leaves_out_the_fields_at_their_default() -> None:
    # Given a plain GTC limit buy and a market buy that sets every option
    plain = buy("b1", 100, 10)
    options = NewOrder(
        "m1",
        "carol",
        SYMBOL,
        Side.BUY,
        OrderType.MARKET,
        None,
        None,
        TimeInForce.IOC,
        False,
        StpMode.CANCEL_BOTH,
        12345,
        "c-9",
    )
    # When encoded
    # Then the plain order carries only what differs from the defaults
    assert orjson.loads(encode_command(plain)) == {
        "type": "new",
        "order_id": "b1",
        "account_id": "alice",
        "symbol": SYMBOL,
        "side": "BUY",
        "order_type": "LIMIT",
        "price": 100,
        "quantity": 10,
        "hold": plain.hold,
        "hold_asset": "USD",
    }
    # And set options are all kept, the unset price, quantity and post_only left out
    assert orjson.loads(encode_command(options)) == {
        "type": "new",
        "order_id": "m1",
        "account_id": "carol",
        "symbol": SYMBOL,
        "side": "BUY",
        "order_type": "MARKET",
        "time_in_force": "IOC",
        "stp": "CANCEL_BOTH",
        "quote_budget": 12345,
        "client_order_id": "c-9",
    }
    # And an amend leaves out the value it does not change
    assert orjson.loads(encode_command(Amend("b1", "alice", SYMBOL, quantity=5))) == {
        "type": "amend",
        "order_id": "b1",
        "account_id": "alice",
        "symbol": SYMBOL,
        "quantity": 5,
    }


def test_zero_and_true_are_not_mistaken_for_defaults() -> None:
    # 0 == False and 0 is falsy, but a price of 0 is a (bad) price, not "no price"
    assert compact_command({"price": 0, "quantity": 0, "post_only": True, "quote_budget": 0}) == {
        "price": 0,
        "quantity": 0,
        "post_only": True,
        "quote_budget": 0,
    }
    assert compact_command({"post_only": False, "time_in_force": "GTC", "stp": "CANCEL_NEWEST"}) == {}


def test_every_event_type_round_trips(engine: MatchingEngine) -> None:
    # Given events of every kind from a short session
    commands: list[Command] = [
        buy("b1", 100, 30),
        sell("s1", 100, 10),
        Amend("b1", "alice", SYMBOL, quantity=10),
        Cancel("b1", "alice", SYMBOL),
        Cancel("b1", "alice", SYMBOL),
    ]
    events = [event for command in commands for event in engine.process(command)]
    assert {type(e).__name__ for e in events} == {
        "OrderAccepted",
        "Trade",
        "OrderFilled",
        "OrderAmended",
        "OrderCanceled",
        "OrderRejected",
        "BookDelta",
    }
    # When encoded and decoded, one by one and as a batch
    # Then they are equal, and the JSON names the event type
    for event in events:
        data = encode_event(event)
        assert orjson.loads(data)["type"] == type(event).__name__
        assert decode_event(data) == event
    assert decode_events(encode_events(events)) == events


def test_trade_json_shape() -> None:
    trade = Trade(7, SYMBOL, 100, 10, Side.SELL, "m", "bob", "t", "alice", 0, 0)
    assert orjson.loads(encode_event(trade)) == {
        "type": "Trade",
        "seq": 7,
        "symbol": SYMBOL,
        "price": 100,
        "quantity": 10,
        "maker_side": "SELL",
        "maker_order_id": "m",
        "maker_account_id": "bob",
        "taker_order_id": "t",
        "taker_account_id": "alice",
        "maker_remaining": 0,
        "taker_remaining": 0,
    }
