"""The one rule set for new orders and amends, and the hold arithmetic the matcher enforces.

Intake (:mod:`trading.services.orders`) and both books (reference and fast, pure and compiled)
call these functions, so a combination is accepted by all of them or rejected by all of them with
the same code (``tests/unit/engine/test_rules_agreement.py`` enumerates the combinations).

**Holds.** Intake holds an order's worst case before it is queued (:func:`required_hold`) and the
``new`` command carries that hold. The book keeps, per live order, what is left of it in *hold
units* (:data:`HOLD_SCALE` units per atom of the hold asset: fees are in basis points, so this keeps
the arithmetic exact) and takes every fill's exact cost from it (:func:`fill_cost`). A new order
whose hold does not cover its worst case, and an amend whose new worst case (the open quantity at
the new price, all of it as taker) exceeds what is left, are rejected. Because a fill at a maker
price never costs more than the worst case at the order's limit, what is left always covers the
open quantity, so **no order ever executes beyond its hold**, whatever intake's (possibly stale)
view of the order was. Settlement charges exactly :func:`fill_cost` (see
``trading.ledger.settlement.fees_for``: one rounding per order of its fee-weighted notional), so
the ledger never has to debit more than the hold for an order.
"""

from typing import Final, NamedTuple

from trading.domain.enums import InstrumentStatus, OrderType, Side, TimeInForce
from trading.domain.errors import ErrorCode
from trading.domain.instruments import BPS_DENOMINATOR, Instrument
from trading.domain.numbers import ceil_div
from trading.engine.commands import NewOrder

# Enum members bound once: compiled with mypyc, ``Side.BUY`` inside a function is a class
# attribute lookup on every call, a module constant is a load (as in fast_book.py).
_BUY: Final = Side.BUY
_SELL: Final = Side.SELL
_LIMIT: Final = OrderType.LIMIT
_GTC: Final = TimeInForce.GTC
_FOK: Final = TimeInForce.FOK
_TRADING: Final = InstrumentStatus.TRADING

HOLD_SCALE: Final = BPS_DENOMINATOR
"""Hold units per atom: ``atoms * HOLD_SCALE`` is exact for every fee in basis points."""


class Grid:
    """The numbers of an instrument that the rules need, as plain attributes.

    Built once per book (and per intake request): compiled with mypyc, reading these is a field
    load, where the pydantic ``Instrument`` would be a dictionary lookup on every order.
    """

    def __init__(self, instrument: Instrument) -> None:
        self.tick_size: Final = instrument.tick_size
        self.lot_size: Final = instrument.lot_size
        self.min_quantity: Final = instrument.min_quantity
        self.max_quantity: Final = instrument.max_quantity
        self.min_notional: Final = instrument.min_notional
        self.notional_to_quote_atoms: Final = instrument.notional_to_quote_atoms
        self.quantity_to_base_atoms: Final = instrument.quantity_to_base_atoms
        self.maker_fee_bps: Final = instrument.maker_fee_bps
        self.taker_fee_bps: Final = instrument.taker_fee_bps
        self.base_asset: Final = instrument.base_asset
        self.quote_asset: Final = instrument.quote_asset


class Violation(NamedTuple):
    """A rule a command breaks: the public code and a human reason (constant, no formatting)."""

    code: ErrorCode
    message: str


HALTED: Final = Violation(ErrorCode.INSTRUMENT_HALTED, "the instrument is halted")
PRICE_REQUIRED: Final = Violation(ErrorCode.PRICE_REQUIRED, "a limit order needs a price")
PRICE_OFF_GRID: Final = Violation(ErrorCode.INVALID_PRICE, "price must be a positive multiple of the tick")
BUDGET_NOT_ALLOWED: Final = Violation(ErrorCode.INVALID_ORDER_TYPE, "quote_amount is only for market buys")
POST_ONLY_TIF: Final = Violation(ErrorCode.INVALID_ORDER_TYPE, "a post-only order must be GTC")
LIMIT_QUANTITY: Final = Violation(ErrorCode.INVALID_QUANTITY, "a limit order needs a quantity")
PRICE_NOT_ALLOWED: Final = Violation(ErrorCode.PRICE_NOT_ALLOWED, "a market order has no price")
POST_ONLY_MARKET: Final = Violation(ErrorCode.INVALID_ORDER_TYPE, "a market order cannot be post-only")
BUDGET_REQUIRED: Final = Violation(ErrorCode.INVALID_AMOUNT, "a market buy needs a quote_amount (its budget)")
BUDGET_FOK: Final = Violation(ErrorCode.INVALID_ORDER_TYPE, "a market buy with a budget cannot be FOK")
BUDGET_NOT_POSITIVE: Final = Violation(ErrorCode.INVALID_AMOUNT, "quote_amount must be positive")
SELL_QUANTITY: Final = Violation(ErrorCode.INVALID_QUANTITY, "a market sell needs a quantity")
QUANTITY_OFF_GRID: Final = Violation(
    ErrorCode.INVALID_QUANTITY, "quantity must be a positive multiple of the lot size"
)
QUANTITY_BELOW_MIN: Final = Violation(ErrorCode.QUANTITY_BELOW_MIN, "quantity is below the minimum")
QUANTITY_ABOVE_MAX: Final = Violation(ErrorCode.QUANTITY_ABOVE_MAX, "quantity is above the maximum")
NOTIONAL_BELOW_MIN: Final = Violation(ErrorCode.NOTIONAL_BELOW_MIN, "order value is below the minimum")
HOLD_TOO_SMALL: Final = Violation(
    ErrorCode.INSUFFICIENT_FUNDS, "the funds held for the order do not cover its worst case"
)
AMEND_NOTHING: Final = Violation(ErrorCode.INVALID_AMEND, "give a new price, a new quantity or both")
AMEND_BEYOND_HOLD: Final = Violation(
    ErrorCode.INVALID_AMEND, "the amended order could cost more than what is left of its hold"
)


def check_new_order(  # noqa: PLR0911, PLR0912, PLR0917 -- one flat list of rules reads best
    grid: Grid,
    status: InstrumentStatus,
    side: Side,
    order_type: OrderType,
    price: int | None,
    quantity: int | None,
    quote_budget: int | None,
    time_in_force: TimeInForce,
    post_only: bool,
) -> Violation | None:
    """Every rule that needs only the instrument (not the book), in the order they are checked.

    ``quote_budget`` is in notional units (``price * quantity``). ``None`` when the order is valid.
    """
    if status is not _TRADING:
        return HALTED
    if order_type is _LIMIT:
        if price is None:
            return PRICE_REQUIRED
        if price <= 0 or price % grid.tick_size:
            return PRICE_OFF_GRID
        if quote_budget is not None:
            return BUDGET_NOT_ALLOWED
        if post_only and time_in_force is not _GTC:
            return POST_ONLY_TIF
        if quantity is None:
            return LIMIT_QUANTITY
    else:
        if price is not None:
            return PRICE_NOT_ALLOWED
        if post_only:
            return POST_ONLY_MARKET
        if side is _BUY:
            # A market buy is bounded by its budget: without one its worst case is unbounded.
            if quote_budget is None:
                return BUDGET_REQUIRED
            if time_in_force is _FOK:
                return BUDGET_FOK
            if quote_budget <= 0:
                return BUDGET_NOT_POSITIVE
            if quote_budget * grid.notional_to_quote_atoms < grid.min_notional:
                return NOTIONAL_BELOW_MIN
        else:
            if quote_budget is not None:
                return BUDGET_NOT_ALLOWED
            if quantity is None:
                return SELL_QUANTITY
    if quantity is None:
        return None  # a budget-only market buy
    if quantity <= 0 or quantity % grid.lot_size:
        return QUANTITY_OFF_GRID
    if quantity < grid.min_quantity:
        return QUANTITY_BELOW_MIN
    if quantity > grid.max_quantity:
        return QUANTITY_ABOVE_MAX
    if price is not None and price * quantity * grid.notional_to_quote_atoms < grid.min_notional:
        return NOTIONAL_BELOW_MIN
    return None


def check_amend(
    grid: Grid, status: InstrumentStatus, price: int | None, quantity: int | None
) -> Violation | None:
    """Amend rules that need only the instrument; ``quantity`` is the new *open* quantity."""
    if status is not _TRADING:
        return HALTED
    if price is None and quantity is None:
        return AMEND_NOTHING
    if price is not None and (price <= 0 or price % grid.tick_size):
        return PRICE_OFF_GRID
    if quantity is not None:
        if quantity <= 0 or quantity % grid.lot_size:
            return QUANTITY_OFF_GRID
        if quantity > grid.max_quantity:
            return QUANTITY_ABOVE_MAX
    return None


# -- holds -------------------------------------------------------------------------------------


def hold_asset(grid: Grid, side: Side) -> str:
    """A buy pays with the quote asset, a sell with the base asset."""
    return grid.quote_asset if side is _BUY else grid.base_asset


def required_hold(
    grid: Grid, side: Side, price: int | None, quantity: int | None, quote_budget: int | None
) -> int:
    """The atoms intake holds for a valid order: its worst case, all of it as taker.

    A buy: the notional (the limit price times the quantity, or the market buy's budget) plus the
    taker fee on it, rounded up; a sell: the base quantity.
    """
    if side is _SELL:
        return (quantity or 0) * grid.quantity_to_base_atoms
    if quote_budget is not None:
        notional = quote_budget * grid.notional_to_quote_atoms
    else:
        notional = (price or 0) * (quantity or 0) * grid.notional_to_quote_atoms
    return notional + ceil_div(notional * grid.taker_fee_bps, BPS_DENOMINATOR)


def fill_cost(grid: Grid, side: Side, price: int, quantity: int, fee_bps: int) -> int:
    """Hold units one fill takes from an order's hold: a buy pays notional plus fee, a sell base."""
    if side is _BUY:
        return price * quantity * grid.notional_to_quote_atoms * (HOLD_SCALE + fee_bps)
    return quantity * grid.quantity_to_base_atoms * HOLD_SCALE


def worst_cost(grid: Grid, side: Side, price: int, open_quantity: int) -> int:
    """Hold units the open quantity of a limit order may still take: all at its limit, as taker."""
    return fill_cost(grid, side, price, open_quantity, grid.taker_fee_bps)


def check_new_hold(  # noqa: PLR0917
    grid: Grid,
    side: Side,
    price: int | None,
    quantity: int | None,
    quote_budget: int | None,
    asset: str | None,
    hold: int | None,
) -> Violation | None:
    """A valid order's hold must be in the asset it pays with and cover its worst case."""
    if hold is None or asset != hold_asset(grid, side):
        return HOLD_TOO_SMALL
    if side is _BUY and quote_budget is not None:
        worst = quote_budget * grid.notional_to_quote_atoms * (HOLD_SCALE + grid.taker_fee_bps)
    else:  # a limit order at its price; a sell's cost does not depend on the price
        worst = worst_cost(grid, side, price or 0, quantity or 0)
    return HOLD_TOO_SMALL if worst > hold * HOLD_SCALE else None


def hold_left_at_most(grid: Grid, side: Side, hold: int, filled_quantity: int) -> int:
    """An upper bound of what is left of an order's hold (hold units) after ``filled_quantity``,
    for a view that knows the fills' quantity but not their prices: a sell's fills cost exactly
    their base; a buy's cost at least one tick each at the lowest fee rate. Intake checks amends
    against it for fast feedback: it never refuses an amend the matcher would accept."""
    if side is _SELL:
        return (hold - filled_quantity * grid.quantity_to_base_atoms) * HOLD_SCALE
    cheapest_fee = min(grid.maker_fee_bps, grid.taker_fee_bps)
    return hold * HOLD_SCALE - fill_cost(grid, side, grid.tick_size, filled_quantity, cheapest_fee)


def check_amend_hold(
    grid: Grid, side: Side, price: int, open_quantity: int, hold_left: int
) -> Violation | None:
    """An amend may not make the order able to cost more than what is left of its hold."""
    if worst_cost(grid, side, price, open_quantity) > hold_left:
        return AMEND_BEYOND_HOLD
    return None


def holding(grid: Grid, order: NewOrder, extra: int = 0) -> NewOrder:
    """``order`` carrying the hold intake places for it (plus ``extra`` atoms): for commands built
    outside intake, such as benchmarks, tests and replays."""
    hold = required_hold(grid, order.side, order.price, order.quantity, order.quote_budget) + extra
    fields = dict(zip(NewOrder.FIELDS, order.values(), strict=True))
    fields.update(hold=hold, hold_asset=hold_asset(grid, order.side))
    return NewOrder(**fields)
