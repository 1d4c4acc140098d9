import psycopg2
import pytest
from trading.db.migrate import apply_migrations, discover


def test_migrations_are_idempotent(db_dsn: str) -> None:
    # Given a database the fixture already migrated
    # When the runner runs again
    applied = apply_migrations(db_dsn)
    # Then nothing is applied twice
    assert applied == []
    conn = psycopg2.connect(db_dsn)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in cur.fetchall()] == [m.version for m in discover()]
    conn.close()


def _exec(dsn: str, *statements: str) -> None:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def test_an_unbalanced_journal_cannot_commit(db_dsn: str) -> None:
    # Given a user account
    _exec(db_dsn, "INSERT INTO accounts (account_id) VALUES ('alice')")
    # When a journal credits alice without an opposite leg, the commit fails
    with pytest.raises(psycopg2.errors.CheckViolation):
        _exec(
            db_dsn,
            "INSERT INTO journals VALUES ('deposit:1', 'DEPOSIT')",
            "INSERT INTO ledger_entries (journal_id, account_id, asset, amount, memo)"
            " VALUES ('deposit:1', 'alice', 'USD', 100, 'deposit')",
        )
    # And a balanced one commits
    _exec(
        db_dsn,
        "INSERT INTO journals VALUES ('deposit:2', 'DEPOSIT')",
        "INSERT INTO ledger_entries (journal_id, account_id, asset, amount, memo) VALUES"
        " ('deposit:2', 'alice', 'USD', 100, 'deposit'), ('deposit:2', 'external', 'USD', -100, 'deposit')",
    )


def test_balances_never_go_negative(db_dsn: str) -> None:
    # Given alice with 5 atoms available
    _exec(
        db_dsn,
        "INSERT INTO accounts (account_id) VALUES ('alice')",
        "INSERT INTO balances (account_id, asset, available) VALUES ('alice', 'USD', 5)",
    )
    # When something tries to take 6, the database refuses
    with pytest.raises(psycopg2.errors.CheckViolation):
        _exec(db_dsn, "UPDATE balances SET available = available - 6 WHERE account_id = 'alice'")
