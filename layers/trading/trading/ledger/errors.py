"""Settlement failures, split by what the caller should do about them.

The settlement state machine retries on the *class name* of the exception the settle Lambda
raises (``Retry.ErrorEquals: ["TransientSettlementError"]``) and sends anything else to the
settlement dead-letter queue, so these names are part of the contract with
``statemachines/settlement.asl.json``.
"""

import psycopg2

from trading.adapters import database


class SettlementError(Exception):
    """Base class of settlement failures."""


class TransientSettlementError(SettlementError):
    """The database was unavailable or the transaction lost a race; retrying will succeed."""


class PermanentSettlementError(SettlementError):
    """The input can never be settled as given (bad data, unknown instrument, missing funds)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a database exception is worth retrying as is: the SQLSTATEs and lost connections
    of :func:`trading.adapters.database.is_transient`, including ``PoolTimeout`` (every pooled
    connection busy for longer than ``DB_POOL_TIMEOUT_SECONDS``)."""
    return database.is_transient(exc)


def classify(exc: BaseException) -> SettlementError:
    """Map any exception raised while settling to the typed error the workflow acts on."""
    if isinstance(exc, SettlementError):
        return exc
    if isinstance(exc, psycopg2.Error) and is_transient(exc):
        return TransientSettlementError(f"{type(exc).__name__}: {exc}".strip())
    return PermanentSettlementError(f"{type(exc).__name__}: {exc}".strip())
