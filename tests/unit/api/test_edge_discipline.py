"""The pure pieces of the edge discipline (issue 13): strict JSON, body checks, amount bounds."""

from __future__ import annotations

import base64

import pytest
from trading import strict_json
from trading.api.app import check_body
from trading.domain.enums import Side
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import MAX_STORED_ATOMS, demo_instruments
from trading.engine.rules import Grid, required_hold

# -- strict JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": -Infinity}', "Infinity"),
        (b"[" * 33 + b"]" * 33, "deeper"),
        (b"[" * 100_000, "deeper"),
        (b'{"a": "\\udc00"}', "surrogate"),
        (b'{"a": 1', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_strict_json_refuses_what_the_standard_parser_lets_through(data: bytes, reason: str) -> None:
    with pytest.raises(strict_json.MalformedJsonError, match=reason):
        strict_json.loads(data)


def test_strict_json_keeps_brackets_inside_strings_out_of_the_depth_and_allows_the_limit() -> None:
    assert strict_json.loads('{"a": "' + "[" * 100 + '\\"["}') == {"a": "[" * 100 + '"['}
    assert strict_json.loads("[" * 32 + "]" * 32) is not None
    assert strict_json.loads('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


# -- body checks before any route ----------------------------------------------------------------


def _event(body: str | None, content_type: str | None, *, base64_encoded: bool = False) -> dict:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return {"body": body, "headers": headers, "isBase64Encoded": base64_encoded}


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (_event("{}", "text/plain"), ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        (_event("{}", "application/json; charset=iso-8859-1"), ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        (_event("{}", "application/jsonx"), ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        (_event("a=1", "application/x-www-form-urlencoded"), ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        (
            _event(base64.b64encode(b'{"a":"\xff"}').decode(), "application/json", base64_encoded=True),
            ErrorCode.MALFORMED_JSON,
        ),
        (_event("not base64!", "application/json", base64_encoded=True), ErrorCode.MALFORMED_JSON),
        (_event('{"a": 1, "a": 1}', "application/json"), ErrorCode.MALFORMED_JSON),
    ],
)
def test_a_body_that_is_not_strict_json_sent_as_json_is_refused(event: dict, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as err:
        check_body(event)
    assert err.value.code is code


@pytest.mark.parametrize(
    "event",
    [
        _event(None, None),
        _event("", "text/plain"),
        _event('{"a": 1}', "application/json"),
        _event('{"a": 1}', None),  # no Content-Type: taken as JSON
        _event('{"a": 1}', "Application/JSON; charset=UTF-8"),
        _event(base64.b64encode(b'{"a": 1}').decode(), "application/json", base64_encoded=True),
    ],
)
def test_no_body_or_a_json_body_passes(event: dict) -> None:
    check_body(event)


# -- amounts fit PostgreSQL bigint ---------------------------------------------------------------


@pytest.mark.parametrize("instrument", demo_instruments(), ids=lambda i: i.symbol)
def test_the_highest_accepted_price_and_budget_hold_at_most_a_bigint(instrument) -> None:
    # Given the highest price on the tick grid the instrument accepts, and the largest budget
    grid = Grid(instrument)
    top_price = instrument.max_price - instrument.max_price % instrument.tick_size
    accepted = instrument.parse_price(instrument.format_price(top_price))
    budget = instrument.parse_quote_amount(instrument.format_notional(instrument.max_quote_amount))
    # Then the worst-case holds (value plus fee) of max_quantity at that price and of the budget fit
    assert required_hold(grid, Side.BUY, accepted, instrument.max_quantity, None) <= MAX_STORED_ATOMS
    assert required_hold(grid, Side.BUY, None, None, budget) <= MAX_STORED_ATOMS
    # And one tick / one unit more is refused with the field's own code
    with pytest.raises(DomainError) as price_err:
        instrument.parse_price(instrument.format_price(top_price + instrument.tick_size))
    with pytest.raises(DomainError) as amount_err:
        instrument.parse_quote_amount(instrument.format_notional(instrument.max_quote_amount + 1))
    assert (price_err.value.code, amount_err.value.code) == (
        ErrorCode.INVALID_PRICE,
        ErrorCode.INVALID_AMOUNT,
    )


@pytest.mark.parametrize("text", ["1" * 18, "9" * 30, "123456789012345678901234567890.5"])
def test_prices_of_18_to_30_digits_are_invalid_price_not_an_overflow(text: str) -> None:
    (btc, *_) = demo_instruments()
    with pytest.raises(DomainError) as err:
        btc.parse_price(text)
    assert err.value.code is ErrorCode.INVALID_PRICE
