"""What RDS Proxy needs of our connections (issue 14): no session state that pins a connection,
TLS verified by default, and a rotated password picked up without a redeploy."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

import boto3
import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql
from trading.adapters import aws
from trading.adapters.database import SECRET_REFRESH_INTERVAL_S, Database, DatabaseConfig
from trading.settings import DatabaseSettings


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    aws.reset()
    yield
    aws.reset()


def _settings(db_dsn: str, secret_arn: str, **extra: Any) -> DatabaseSettings:
    dsn = urlparse(db_dsn)
    return DatabaseSettings(
        db_secret_arn=secret_arn,
        db_writer_host=str(dsn.hostname),
        db_reader_host=str(dsn.hostname),
        db_port=int(dsn.port or 5432),
        db_name=dsn.path.lstrip("/"),
        **extra,
    )


def _secret(username: str, password: str) -> str:
    arn: str = boto3.client("secretsmanager").create_secret(
        Name=f"db-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": username, "password": password}),
    )["ARN"]
    return arn


def test_the_reader_is_read_only_per_transaction_not_per_session(aws_env: Any, db_dsn: str) -> None:
    # Given the pools of a process
    dsn = urlparse(db_dsn)
    settings = _settings(db_dsn, _secret(dsn.username or "", dsn.password or ""), db_sslmode="disable")
    database = Database(DatabaseConfig.from_settings(settings))
    # When the reader is borrowed
    with database.reader() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT current_setting('transaction_read_only'),"
            " current_setting('default_transaction_read_only')"
        )
        # Then its transaction is read-only while the session default is untouched: no SET that
        # would pin the connection to one RDS Proxy backend
        assert cur.fetchone() == ("on", "off")
    # And a write through it is refused
    with (
        pytest.raises(psycopg2.errors.ReadOnlySqlTransaction),
        database.reader() as conn,
        conn.cursor() as cur,
    ):
        cur.execute("INSERT INTO assets (asset, decimals) VALUES ('ZZZ', 2)")
    database.close()


def test_tls_is_verified_against_the_host_name_unless_configured_otherwise(aws_env: Any, db_dsn: str) -> None:
    # Given settings as a deployed function has them (no DB_SSLMODE: the default)
    arn = _secret("u", "p")
    config = DatabaseConfig.from_settings(_settings(db_dsn, arn))
    # Then libpq verifies the proxy's certificate and host name against a CA bundle
    parsed = psycopg2.extensions.parse_dsn(config.writer_dsn)
    assert parsed["sslmode"] == "verify-full"
    assert parsed["sslrootcert"]
    assert psycopg2.extensions.parse_dsn(config.reader_dsn)["sslmode"] == "verify-full"


def test_a_rotated_password_is_read_again_when_a_connection_is_refused(aws_env: Any, db_dsn: str) -> None:
    # Given a role whose password is in a secret, and a process that connected with it
    role = f"rot_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(db_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'first'").format(sql.Identifier(role)))
    arn = _secret(role, "first")
    now = [0.0]
    database = Database(
        DatabaseConfig.from_settings(_settings(db_dsn, arn, db_sslmode="disable")), clock=lambda: now[0]
    )
    with database.writer() as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone() == (role,)
    # When the password is rotated (database and secret) and the old connection is gone
    with admin.cursor() as cur:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD 'second'").format(sql.Identifier(role)))
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": role, "password": "second"})
    )
    # Then within the refresh interval the refusal is the answer (no Secrets Manager storm)
    with pytest.raises(psycopg2.OperationalError), database.writer():
        pass
    # And after it the secret is read again and the connection succeeds, without a restart
    now[0] += SECRET_REFRESH_INTERVAL_S + 1
    with database.writer() as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone() == (role,)
    database.close()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    admin.close()
