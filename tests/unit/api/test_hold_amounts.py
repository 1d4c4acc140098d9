"""Worst-case hold amounts and the instrument checks of order intake (pure)."""

from __future__ import annotations

import pytest
from trading.domain.enums import InstrumentStatus, OrderType, Side, TimeInForce
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import demo_instruments
from trading.services.orders import OrderTicket, order_id_for, validate

BTC = demo_instruments()[0]  # prices 10^-2 USD, quantities 10^-4 BTC, USD 6 decimals, taker 20 bps


def test_limit_buy_holds_notional_plus_taker_fee_rounded_up() -> None:
    # 0.0001 BTC at 12345.67 = 1.234567 USD; fee 0.2 % = 0.0024691334 -> 0.002470 (rounded up)
    valid = validate(
        OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "12345.67", "0.0001"),
        BTC.model_copy(update={"min_notional": 0}),
    )
    assert (valid.hold_asset, valid.hold_amount) == ("USD", 1_234_567 + 2_470)


def test_limit_sell_holds_base_atoms() -> None:
    valid = validate(OrderTicket("BTC-USD", Side.SELL, OrderType.LIMIT, "30000", "0.5"), BTC)
    assert (valid.hold_asset, valid.hold_amount, valid.price, valid.quantity) == (
        "BTC",
        50_000_000,
        3_000_000,
        5_000,
    )


def test_market_buy_holds_budget_plus_fee_and_market_sell_the_quantity() -> None:
    buy = validate(
        OrderTicket("BTC-USD", Side.BUY, OrderType.MARKET, quote_amount="50", time_in_force=TimeInForce.IOC),
        BTC,
    )
    assert (buy.hold_asset, buy.hold_amount, buy.quote_budget) == ("USD", 50_100_000, 50_000_000)
    sell = validate(OrderTicket("BTC-USD", Side.SELL, OrderType.MARKET, quantity="0.01"), BTC)
    assert (sell.hold_asset, sell.hold_amount) == ("BTC", 1_000_000)


@pytest.mark.parametrize(
    ("ticket", "code"),
    [
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, None, "1"), ErrorCode.PRICE_REQUIRED),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.MARKET, "1", "1"), ErrorCode.PRICE_NOT_ALLOWED),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.MARKET, quantity="1"), ErrorCode.INVALID_AMOUNT),
        (OrderTicket("BTC-USD", Side.SELL, OrderType.MARKET), ErrorCode.INVALID_QUANTITY),
        (
            OrderTicket("BTC-USD", Side.SELL, OrderType.MARKET, quantity="1", quote_amount="5"),
            ErrorCode.INVALID_ORDER_TYPE,
        ),
        (
            OrderTicket("BTC-USD", Side.BUY, OrderType.MARKET, quote_amount="5", post_only=True),
            ErrorCode.INVALID_ORDER_TYPE,
        ),
        (
            OrderTicket(
                "BTC-USD", Side.BUY, OrderType.MARKET, quote_amount="5", time_in_force=TimeInForce.FOK
            ),
            ErrorCode.INVALID_ORDER_TYPE,
        ),
        (
            OrderTicket("BTC-USD", Side.BUY, OrderType.MARKET, quote_amount="0.5"),
            ErrorCode.NOTIONAL_BELOW_MIN,
        ),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "0.001", "1"), ErrorCode.INVALID_PRICE),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "-1", "1"), ErrorCode.INVALID_PRICE),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "1", "0"), ErrorCode.INVALID_QUANTITY),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "1", "100.0001"), ErrorCode.QUANTITY_ABOVE_MAX),
        (OrderTicket("BTC-USD", Side.BUY, OrderType.LIMIT, "1", "0.0001"), ErrorCode.NOTIONAL_BELOW_MIN),
    ],
)
def test_rule_violations_carry_their_code(ticket: OrderTicket, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as err:
        validate(ticket, BTC)
    assert err.value.code is code


def test_halted_instrument_rejects_new_orders() -> None:
    halted = BTC.model_copy(update={"status": InstrumentStatus.HALTED})
    with pytest.raises(DomainError) as err:
        validate(OrderTicket("BTC-USD", Side.SELL, OrderType.LIMIT, "1", "1"), halted)
    assert err.value.code is ErrorCode.INSTRUMENT_HALTED


def test_order_ids_are_deterministic_per_client_order_id_and_account() -> None:
    assert order_id_for("alice", "x") == order_id_for("alice", "x")
    assert order_id_for("alice", "x") != order_id_for("bob", "x")
    assert order_id_for("alice", None) != order_id_for("alice", None)
