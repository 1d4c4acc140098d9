"""Intake and every book accept and reject exactly the same new orders, with the same code.

Every combination of order type x time in force x post-only x side x presence of price, quantity
and quote amount goes through intake's ``validate`` and through each book. The book is set up so
that no book-dependent rule (liquidity, FOK fillability, post-only crossing) can fire, so any
difference would be a drift between the rule sets.
"""

import itertools

import pytest
from trading.domain.enums import OrderType, Side, TimeInForce
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import demo_instruments
from trading.engine import BookFactory, NewOrder, OrderAccepted, OrderBook, OrderRejected
from trading.engine.implementations import book_implementations
from trading.engine.rules import Grid, holding
from trading.services.orders import OrderTicket, validate

INSTRUMENT = demo_instruments()[0]  # BTC-USD, with fees and a minimum order value
GRID = Grid(INSTRUMENT)
ASK, BID = 3_000_000, 2_900_000  # 30,000.00 / 29,000.00
DEPTH = 10_000  # 1 BTC resting on each side


def _combinations() -> list[tuple[OrderType, TimeInForce, bool, Side, bool, bool, bool]]:
    return list(
        itertools.product(
            list(OrderType),
            list(TimeInForce),
            (False, True),
            list(Side),
            (False, True),
            (False, True),
            (False, True),
        )
    )


def _book(factory: BookFactory) -> OrderBook:
    book = factory(INSTRUMENT)
    for order in (
        NewOrder("ask", "maker", INSTRUMENT.symbol, Side.SELL, OrderType.LIMIT, ASK, DEPTH),
        NewOrder("bid", "maker", INSTRUMENT.symbol, Side.BUY, OrderType.LIMIT, BID, DEPTH),
    ):
        assert isinstance(book.process(holding(GRID, order))[0], OrderAccepted)
    return book


def _price(side: Side, post_only: bool) -> int:
    """A price that crosses (so IOC and FOK fill) unless post-only, which must rest."""
    if post_only:
        return ASK - 100 if side is Side.BUY else BID + 100
    return ASK if side is Side.BUY else BID


@pytest.mark.parametrize("name", sorted(book_implementations()))
def test_intake_and_the_books_agree_on_every_combination(name: str) -> None:
    factory = book_implementations()[name]
    disagreements = []
    for order_type, tif, post_only, side, has_price, has_quantity, has_budget in _combinations():
        price = _price(side, post_only) if has_price else None
        quantity = 10 if has_quantity else None  # 0.0010 BTC: 30 USD, above the minimum
        budget = 100_000_000 if has_budget else None  # 100.000000 USD in notional units
        ticket = OrderTicket(
            INSTRUMENT.symbol,
            side,
            order_type,
            price=None if price is None else INSTRUMENT.format_price(price),
            quantity=None if quantity is None else INSTRUMENT.format_quantity(quantity),
            quote_amount=None if budget is None else INSTRUMENT.format_notional(budget),
            time_in_force=tif,
            post_only=post_only,
        )
        # When intake validates the ticket
        intake: ErrorCode | None = None
        try:
            valid = validate(ticket, INSTRUMENT)
        except DomainError as exc:
            intake = exc.code
        # And the book gets the same order (with intake's hold when intake accepted it)
        command = NewOrder(
            "x",
            "taker",
            INSTRUMENT.symbol,
            side,
            order_type,
            price,
            quantity,
            tif,
            post_only,
            quote_budget=budget,
        )
        if intake is None:
            command = holding(GRID, command)
            assert command.hold == valid.hold_amount, "intake and the book size the hold alike"
        else:
            command = holding(GRID, command, extra=10**12)  # a hold can never excuse a rule
        first = _book(factory).process(command)[0]
        engine = first.code if isinstance(first, OrderRejected) else None
        if intake != engine:
            disagreements.append(
                (order_type, tif, post_only, side, has_price, has_quantity, has_budget, intake, engine)
            )
    # Then they agree on every one of the combinations
    assert disagreements == []


def test_the_combinations_cover_acceptance_and_every_structural_code() -> None:
    # The enumeration is only a proof if it reaches both outcomes and the structural codes
    codes: set[ErrorCode | None] = set()
    for order_type, tif, post_only, side, has_price, has_quantity, has_budget in _combinations():
        ticket = OrderTicket(
            INSTRUMENT.symbol,
            side,
            order_type,
            price=INSTRUMENT.format_price(_price(side, post_only)) if has_price else None,
            quantity="0.0010" if has_quantity else None,
            quote_amount="100" if has_budget else None,
            time_in_force=tif,
            post_only=post_only,
        )
        try:
            validate(ticket, INSTRUMENT)
            codes.add(None)
        except DomainError as exc:
            codes.add(exc.code)
    assert codes >= {
        None,
        ErrorCode.PRICE_REQUIRED,
        ErrorCode.PRICE_NOT_ALLOWED,
        ErrorCode.INVALID_ORDER_TYPE,
        ErrorCode.INVALID_QUANTITY,
        ErrorCode.INVALID_AMOUNT,
    }


def test_limit_ioc_post_only_is_rejected_by_intake_like_the_engine() -> None:
    # The drift found in issue 12: intake held funds (201) and the engine then rejected it
    ticket = OrderTicket(
        INSTRUMENT.symbol, Side.BUY, OrderType.LIMIT, "29999.00", "0.0010", None, TimeInForce.IOC, True
    )
    with pytest.raises(DomainError) as raised:
        validate(ticket, INSTRUMENT)
    assert raised.value.code is ErrorCode.INVALID_ORDER_TYPE
