"""The ``new`` decoder's fast path must agree with its strict path on every message.

``decode_command`` tries a fast path first and falls back to a field-by-field strict path that
raises the right error. The fast path may only ever answer with the command the strict path
would produce; it must answer for every valid message (full form, canonical compact form, explicit
nulls), and must hand every invalid one to the strict path.
"""

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from trading.domain.enums import Side
from trading.engine.codec import CommandDecodeError, _decode_new_fast, _decode_new_strict, encode_command

from .helpers import buy, market

_ABSENT = object()

# For every field of a ``new`` message: values the strict path accepts (absence included for
# the optional fields), then values it rejects.
_FIELDS: dict[str, tuple[list[Any], list[Any]]] = {
    "order_id": (["o-1"], [_ABSENT, "", None, 7, ["o"]]),
    "account_id": (["alice"], [_ABSENT, "", None, 1.5]),
    "symbol": (["BTC-USD"], [_ABSENT, "", None, False]),
    "side": (["BUY", "SELL"], [_ABSENT, "buy", None, 1, ["BUY"], {"a": 1}]),
    "order_type": (["LIMIT", "MARKET"], [_ABSENT, "STOP", None, ["LIMIT"]]),
    "price": ([_ABSENT, None, 0, 3000050, -5], ["1.5", 1.5, True]),
    "quantity": ([_ABSENT, None, 15, 0], ["15", False, 2.0]),
    "quote_budget": ([_ABSENT, None, 12345], ["x", True]),
    "time_in_force": ([_ABSENT, None, "GTC", "IOC", "FOK"], ["DAY", 3, ["GTC"]]),
    "post_only": ([_ABSENT, False, True], [None, 0, "true"]),
    "stp": ([_ABSENT, None, "CANCEL_NEWEST", "CANCEL_OLDEST", "CANCEL_BOTH"], ["NONE", 2, {"x": 1}]),
    "client_order_id": ([_ABSENT, None, "c-1"], [5, ["c"]]),
}


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """A ``new`` message with up to two invalid fields (often none) and now and then an unknown key."""
    broken = draw(st.sets(st.sampled_from(sorted(_FIELDS)), max_size=2))
    message: dict[str, Any] = {"type": "new"}
    for key, (valid, invalid) in _FIELDS.items():
        value = draw(st.sampled_from(invalid if key in broken else valid))
        if value is not _ABSENT:
            message[key] = value
    if draw(st.integers(0, 9)) == 0:
        message["unexpected"] = 1
    return message


def _strict(message: dict[str, Any]) -> Any:
    try:
        return _decode_new_strict(message)
    except CommandDecodeError as error:
        return error


@settings(max_examples=500)
@given(messages())
def test_fast_path_answers_exactly_when_the_strict_path_accepts(message: dict[str, Any]) -> None:
    # Given a message decoded by both paths (as orjson would hand it over)
    message = orjson.loads(orjson.dumps(message))
    strict = _strict(message)
    fast = _decode_new_fast(message)
    # Then the fast path gives the strict path's command, or steps aside for the strict path's error
    if isinstance(strict, CommandDecodeError):
        assert fast is None, f"fast path accepted what the strict path rejects ({strict.code})"
    else:
        assert fast == strict


def test_the_canonical_form_and_the_full_form_decode_alike() -> None:
    # Given an order encoded canonically (defaults left out) and with every field spelled out
    for command in (buy("b1", 100, 10), market("m1", Side.BUY, None, budget=99)):
        compact = orjson.loads(encode_command(command))
        full = orjson.loads(orjson.dumps(command.to_dict()))
        # Then both take the fast path to the same command
        assert len(compact) < len(full) == 15
        assert _decode_new_fast(compact) == _decode_new_fast(full) == command
