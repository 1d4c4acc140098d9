"""Production wiring of the ledger Lambdas (imported by ``functions/*/app.py``, never by logic).

Every dependency is created lazily on first use and cached per container; handlers take them as
defaulted parameters so functional tests pass real local databases and fakes instead.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import cache
from typing import Any

from psycopg2.extensions import connection
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from trading.domain.instruments import Instrument


class LedgerFunctionSettings(BaseSettings):
    """The environment the ledger functions read (docs/architecture.md); all optional at import."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    event_bus_name: str = ""
    orders_table: str = ""
    instruments_table: str = ""
    trade_log_bucket: str = ""
    instruments_cache_seconds: float = 60.0
    hold_grace_seconds: int = 300
    pending_timeout_seconds: int = 600


@cache
def settings() -> LedgerFunctionSettings:
    return LedgerFunctionSettings()


class ReconcileSettings(LedgerFunctionSettings):
    """The ``reconcile`` function's environment: the records it compares the ledger with, and how
    long a difference may be work in flight (docs/ledger.md, "Reconciliation")."""

    order_books_table: str = ""
    settlement_dlq_url: str = ""
    reconcile_grace_seconds: int = Field(900, ge=0)
    reconcile_lookback_seconds: int = Field(172_800, gt=0)
    reconcile_max_orders: int = Field(50_000, gt=0)


@cache
def reconcile_settings() -> ReconcileSettings:
    return ReconcileSettings()


def reconcile_policy(grace_seconds: int | None = None) -> Any:
    """The cross checks' timings from the environment; ``grace_seconds`` overrides the grace."""
    from trading.ledger.crosscheck import CrossCheckPolicy  # noqa: PLC0415

    config = reconcile_settings()
    grace = config.reconcile_grace_seconds if grace_seconds is None else grace_seconds
    return CrossCheckPolicy(
        grace=timedelta(seconds=grace),
        pending_timeout=timedelta(seconds=config.pending_timeout_seconds),
        lookback=timedelta(seconds=config.reconcile_lookback_seconds),
        max_orders=config.reconcile_max_orders,
    )


def reconcile_records() -> Any:
    """The ``Orders`` table, the matcher's outbox for every instrument, the settlement DLQ."""
    from trading.adapters.matcher_outbox import MatcherOutboxReader  # noqa: PLC0415
    from trading.adapters.orders_table import OrdersTable  # noqa: PLC0415
    from trading.adapters.queue_depth import QueueDepth  # noqa: PLC0415
    from trading.ledger.crosscheck import IndependentRecords  # noqa: PLC0415

    config = reconcile_settings()
    missing = [
        name
        for name, value in (
            ("ORDERS_TABLE", config.orders_table),
            ("ORDER_BOOKS_TABLE", config.order_books_table),
            ("SETTLEMENT_DLQ_URL", config.settlement_dlq_url),
        )
        if not value
    ]
    if missing:
        raise RuntimeError(f"reconcile needs {', '.join(missing)}")
    return IndependentRecords(
        orders=OrdersTable(config.orders_table),
        settlement_dlq=QueueDepth(config.settlement_dlq_url),
        outbox=MatcherOutboxReader(config.order_books_table),
        symbols=sorted(instruments()),
        dlq_name=config.settlement_dlq_url.rsplit("/", 1)[-1],
    )


def writer() -> AbstractContextManager[connection]:
    """Borrow a writer connection from the container's pool: ``with writer() as conn: ...``."""
    from trading.adapters.database import writer as _writer  # noqa: PLC0415 - only the Lambda edge

    return _writer()


def reader() -> AbstractContextManager[connection]:
    """Borrow a reader connection from the container's pool."""
    from trading.adapters.database import reader as _reader  # noqa: PLC0415

    return _reader()


def db_pool_stats() -> dict[str, Any]:
    """The container's pool statistics by endpoint (empty before the first borrow)."""
    from trading.adapters.database import stats  # noqa: PLC0415

    return {name: pool.as_dict() for name, pool in stats().items()}


def aws_client(service: str) -> Any:
    from trading.adapters import aws  # noqa: PLC0415

    return aws.client(service)


@cache
def _instruments_table() -> Any:
    from trading.adapters.instruments_table import InstrumentsTable  # noqa: PLC0415

    return InstrumentsTable(settings().instruments_table, settings().instruments_cache_seconds)


def instruments() -> Mapping[str, Instrument]:
    """Fee schedules come from the ``Instruments`` table (what the exchange currently charges)."""
    return {i.symbol: i for i in _instruments_table().all()}


def orders_lookup() -> Any:
    from trading.adapters import aws  # noqa: PLC0415
    from trading.ledger.orders import DynamoOrdersLookup  # noqa: PLC0415

    return DynamoOrdersLookup(settings().orders_table, aws.resource("dynamodb"))
