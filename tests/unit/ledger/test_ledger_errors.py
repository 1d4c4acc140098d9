"""Which database failures the settlement workflow retries (by exception class name)."""

import psycopg2
import pytest
from psycopg2 import errors as pg_errors
from trading.adapters.database import PoolTimeout
from trading.ledger.errors import (
    PermanentSettlementError,
    TransientSettlementError,
    classify,
    is_transient,
)


class _WithCode(psycopg2.DatabaseError):
    """A psycopg2 error carrying a SQLSTATE, as the driver would build it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self._code = code

    @property
    def pgcode(self) -> str:  # type: ignore[override]
        return self._code


@pytest.mark.parametrize(
    "code",
    ["40001", "40P01", "55P03", "57014", "57P01", "08006", "53300"],
)
def test_retryable_sqlstates_are_transient(code: str) -> None:
    # Given a serialization failure, deadlock, lock timeout, cancel, shutdown, lost connection, too many
    # connections / When it is classified / Then it is transient
    assert isinstance(classify(_WithCode(code)), TransientSettlementError)


@pytest.mark.parametrize("code", ["23514", "23503", "23505", "22003", "42P01"])
def test_data_and_schema_errors_are_permanent(code: str) -> None:
    # Given a check/foreign key/unique violation, a numeric overflow or a missing table
    # When it is classified / Then retrying would not help
    assert isinstance(classify(_WithCode(code)), PermanentSettlementError)


def test_a_lost_connection_without_sqlstate_is_transient() -> None:
    # Given the driver's error for a refused connection / Then it is transient
    assert is_transient(psycopg2.OperationalError("could not connect to server"))
    assert is_transient(psycopg2.InterfaceError("connection already closed"))


def test_a_pool_that_stayed_busy_is_transient() -> None:
    # Given every pooled connection busy past DB_POOL_TIMEOUT_SECONDS / Then the settlement retries
    typed = classify(PoolTimeout("no writer database connection free within 5 s (all 2 in use)"))
    assert isinstance(typed, TransientSettlementError)
    assert "PoolTimeout" in str(typed)


def test_non_database_errors_are_permanent_and_typed_errors_pass_through() -> None:
    # Given a bug-like error and an already typed one
    permanent = classify(KeyError("price"))
    transient = TransientSettlementError("x")
    # Then the first is permanent and the second is returned as is
    assert isinstance(permanent, PermanentSettlementError)
    assert classify(transient) is transient


def test_class_names_match_the_state_machine_contract() -> None:
    # The ASL retries on this exact class name; renaming the class silently disables retries.
    assert TransientSettlementError.__name__ == "TransientSettlementError"
    assert pg_errors.DeadlockDetected.__name__ == "DeadlockDetected"
