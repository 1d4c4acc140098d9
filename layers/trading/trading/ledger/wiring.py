"""Production wiring of the ledger Lambdas (imported by ``functions/*/app.py``, never by logic).

Every dependency is created lazily on first use and cached per container; handlers take them as
defaulted parameters so functional tests pass real local databases and fakes instead.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import cache
from typing import Any

from psycopg2.extensions import connection
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
