"""Settlement failures, split by what the caller should do about them.

The settlement state machine retries on the *class name* of the exception the settle Lambda
raises (``Retry.ErrorEquals: ["TransientSettlementError"]``) and sends anything else to the
settlement dead-letter queue, so these names are part of the contract with
``statemachines/settlement.asl.json``.
"""

import psycopg2
from psycopg2 import errors as pg_errors


class SettlementError(Exception):
    """Base class of settlement failures."""


class TransientSettlementError(SettlementError):
    """The database was unavailable or the transaction lost a race; retrying will succeed."""


class PermanentSettlementError(SettlementError):
    """The input can never be settled as given (bad data, unknown instrument, missing funds)."""


# SQLSTATE classes/codes that mean "try again": connection exceptions (08), serialization failure
# and deadlock (40001, 40P01), lock not available (55P03), query canceled by statement/lock
# timeout (57014), operator intervention / shutdown (57P0x), insufficient resources (53).
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "53", "55P03", "57014", "57P")


def is_transient(exc: BaseException) -> bool:
    """Whether a database exception is worth retrying as is."""
    if isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)):
        return True
    code = getattr(exc, "pgcode", None)
    if code:
        return str(code).startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    # No SQLSTATE: the connection itself failed (refused, reset, closed, timed out).
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


def classify(exc: BaseException) -> SettlementError:
    """Map any exception raised while settling to the typed error the workflow acts on."""
    if isinstance(exc, SettlementError):
        return exc
    if isinstance(exc, psycopg2.Error) and is_transient(exc):
        return TransientSettlementError(f"{type(exc).__name__}: {exc}".strip())
    return PermanentSettlementError(f"{type(exc).__name__}: {exc}".strip())
