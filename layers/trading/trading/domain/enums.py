"""Enumerations used on the wire, in storage and in the engine.

They are ``StrEnum`` so that the JSON/DynamoDB representation is the readable name itself
(``"BUY"``), which keeps messages self-describing and stable across versions.
"""

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till canceled: the remainder rests on the book
    IOC = "IOC"  # immediate or cancel: fill what is possible now, cancel the rest
    FOK = "FOK"  # fill or kill: fill the whole quantity now or nothing at all


class StpMode(StrEnum):
    """Self-trade prevention: what happens when an order would match one of the same account."""

    CANCEL_NEWEST = "CANCEL_NEWEST"  # cancel the incoming (taker) order's remainder
    CANCEL_OLDEST = "CANCEL_OLDEST"  # cancel the resting (maker) order and keep matching
    CANCEL_BOTH = "CANCEL_BOTH"  # cancel both


class OrderStatus(StrEnum):
    PENDING = "PENDING"  # accepted by intake, funds held, not yet seen by the matcher
    OPEN = "OPEN"  # resting on the book, nothing filled
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # resting on the book, partly filled
    FILLED = "FILLED"  # terminal
    CANCELED = "CANCELED"  # terminal (user cancel, IOC/FOK remainder, STP, market without liquidity)
    REJECTED = "REJECTED"  # terminal, never reached the book

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class InstrumentStatus(StrEnum):
    TRADING = "TRADING"
    HALTED = "HALTED"  # new orders rejected; cancels still accepted
