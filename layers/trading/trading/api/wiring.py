"""Adapters for the REST functions, built lazily from the environment once per container.

Each getter validates only the settings it needs, so a function only requires its own env vars.
Tests call :func:`reset` after pointing the environment somewhere else.
"""

from __future__ import annotations

from functools import cache

from trading.adapters import aws, database
from trading.adapters.holds import PgHolds
from trading.adapters.idempotency import Idempotency
from trading.adapters.instruments_table import InstrumentsTable
from trading.adapters.order_books_table import OrderBooksTable
from trading.adapters.orders_queue import OrdersQueue
from trading.adapters.orders_table import OrdersTable
from trading.services.orders import OrderService
from trading.settings import (
    IdempotencySettings,
    InstrumentsTableSettings,
    OrderBooksTableSettings,
    OrdersQueueSettings,
    OrdersTableSettings,
)


@cache
def instruments() -> InstrumentsTable:
    settings = InstrumentsTableSettings()
    return InstrumentsTable(settings.instruments_table, settings.instruments_cache_seconds)


@cache
def orders() -> OrdersTable:
    return OrdersTable(OrdersTableSettings().orders_table)


@cache
def order_books() -> OrderBooksTable:
    return OrderBooksTable(OrderBooksTableSettings().order_books_table)


@cache
def queue() -> OrdersQueue:
    settings = OrdersQueueSettings()
    return OrdersQueue(settings.orders_queue_url, settings.order_group_scheme)


@cache
def idempotency() -> Idempotency:
    settings = IdempotencySettings()
    return Idempotency(settings.idempotency_table, settings.idempotency_expiry_seconds)


@cache
def order_service() -> OrderService:
    return OrderService(
        instruments=instruments(), orders=orders(), queue=queue(), holds=PgHolds(database.writer)
    )


def reset() -> None:
    for getter in (instruments, orders, order_books, queue, idempotency, order_service):
        getter.cache_clear()
    database.reset()
    aws.reset()
