"""The `DbSchema` custom resource (functions/migrate): CloudFormation requests against the embedded
PostgreSQL, answered to a real HTTP server on loopback standing in for the pre-signed ResponseURL."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import psycopg2
import pytest
from localcloud.postgres import Credentials, free_port
from trading.db.migrate import _LOCK_KEY, discover

ROOT = Path(__file__).resolve().parents[3]
ALL_VERSIONS = [m.version for m in discover()]


def load_migrate() -> ModuleType:
    os.environ["POWERTOOLS_SERVICE_NAME"] = f"migrate-{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(
        f"fn_migrate_{uuid.uuid4().hex[:8]}", ROOT / "functions" / "migrate" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class ResponseUrl:
    """A loopback HTTP server that records every PUT, failing the first ``fail_first`` of them."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/cfn-response?X-Amz-Signature={token}"


@pytest.fixture
def response_url() -> Iterator[ResponseUrl]:
    state = ResponseUrl(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail_first > 0:
                state.fail_first -= 1
                self.send_response(503)
                self.end_headers()
                return
            state.received.append(
                {
                    "body": json.loads(body),
                    "content_type": self.headers.get("Content-Type"),
                    "query": parse_qs(urlsplit(self.path).query),
                }
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_dsn(pg_credentials: Credentials) -> Iterator[str]:
    """A database with no schema at all (a fresh Aurora cluster's `trading` database)."""
    name = f"e_{uuid.uuid4().hex[:16]}"
    admin = psycopg2.connect(pg_credentials.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_credentials.dsn(name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


class Context:
    def __init__(self, remaining_ms: int = 300_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "migrate"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:migrate"
        self.aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def cfn_event(request_type: str, url: ResponseUrl, physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": url.url(uuid.uuid4().hex),
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/trading-dev/{uuid.uuid4()}",
        "RequestId": str(uuid.uuid4()),
        "ResourceType": "Custom::DbSchema",
        "LogicalResourceId": "DbSchema",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...:migrate", "Layer": "arn:layer:1"},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def schema_state(dsn: str) -> tuple[list[Any], list[Any]]:
    """Every table and column of the public schema, and every recorded migration."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY 1, 2"
            )
            columns = cur.fetchall()
            cur.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
            migrations = cur.fetchall()
    finally:
        conn.close()
    return columns, migrations


def test_create_applies_every_migration_and_a_second_create_changes_nothing(
    empty_dsn: str, response_url: ResponseUrl
) -> None:
    # Given an empty database and the migrate function
    app = load_migrate()

    # When CloudFormation sends Create, and then Create again (a retried request)
    first = cfn_event("Create", response_url)
    app.handler(first, Context(), dsn=lambda: empty_dsn)
    after_first = schema_state(empty_dsn)
    app.handler(cfn_event("Create", response_url), Context(), dsn=lambda: empty_dsn)

    # Then both answer SUCCESS to the ResponseURL: the first applied every migration, the second none,
    # and the schema (tables, columns, migration records with their times) is exactly as after the first
    one, two = (r["body"] for r in response_url.received)
    assert one["Status"] == two["Status"] == "SUCCESS"
    assert one["Data"] == {
        "Applied": ",".join(map(str, ALL_VERSIONS)),
        "SchemaVersion": str(ALL_VERSIONS[-1]),
    }
    assert two["Data"] == {"Applied": "", "SchemaVersion": str(ALL_VERSIONS[-1])}
    assert two["Reason"] == "schema up to date"
    assert (one["StackId"], one["RequestId"], one["LogicalResourceId"]) == (
        first["StackId"],
        first["RequestId"],
        "DbSchema",
    )
    assert one["PhysicalResourceId"] == two["PhysicalResourceId"] == "trading-db-schema"
    assert [row[0] for row in after_first[1]] == ALL_VERSIONS
    assert {row[0] for row in after_first[0]} >= {"schema_migrations", "accounts"}
    assert schema_state(empty_dsn) == after_first
    # The pre-signed URL is PUT as given, without a content type (it is not part of the signature)
    assert all(r["content_type"] == "" and r["query"]["X-Amz-Signature"] for r in response_url.received)


def test_update_keeps_the_physical_id_and_applies_only_what_is_pending(
    db_dsn: str, response_url: ResponseUrl
) -> None:
    # Given a database migrated up to the previous version: the last migration (it creates indexes)
    # undone, as if the new layer brought it
    app = load_migrate()
    before = schema_state(db_dsn)
    last = discover()[-1]
    indexes = re.findall(r"CREATE INDEX (\w+)", last.sql)
    assert indexes, "the last migration is expected to create indexes; adapt this setup"
    conn = psycopg2.connect(db_dsn)
    with conn, conn.cursor() as cur:
        for index in indexes:
            cur.execute(f"DROP INDEX {index}")
        cur.execute("DELETE FROM schema_migrations WHERE version = %s", (last.version,))
    conn.close()

    # When CloudFormation sends Update for the existing resource
    app.handler(
        cfn_event("Update", response_url, physical_id="trading-db-schema"), Context(), dsn=lambda: db_dsn
    )

    # Then it answers SUCCESS with the same physical id (no replacement, so no Delete follows),
    # having applied only the pending migration, whose indexes exist again
    (answer,) = (r["body"] for r in response_url.received)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "trading-db-schema")
    assert answer["Data"]["Applied"] == str(last.version)
    after = schema_state(db_dsn)
    assert after[0] == before[0]
    assert [row[:3] for row in after[1]] == [row[:3] for row in before[1]]
    conn = psycopg2.connect(db_dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", (indexes,))
        assert sorted(row[0] for row in cur.fetchall()) == sorted(indexes)
    conn.close()


def test_update_of_an_up_to_date_schema_succeeds_and_changes_nothing(
    db_dsn: str, response_url: ResponseUrl
) -> None:
    # Given a fully migrated database
    app = load_migrate()
    before = schema_state(db_dsn)

    # When an Update arrives (e.g. a new layer without new migrations)
    app.handler(
        cfn_event("Update", response_url, physical_id="trading-db-schema"), Context(), dsn=lambda: db_dsn
    )

    # Then SUCCESS, nothing applied, the schema untouched
    (answer,) = (r["body"] for r in response_url.received)
    assert (answer["Status"], answer["Data"]["Applied"]) == ("SUCCESS", "")
    assert schema_state(db_dsn) == before


def test_a_failing_migration_reports_failed_with_the_reason_and_changes_nothing(
    db_dsn: str, response_url: ResponseUrl
) -> None:
    # Given a database whose record of migration 1 no longer matches the shipped file
    app = load_migrate()
    conn = psycopg2.connect(db_dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = %s", (ALL_VERSIONS[0],)
        )
        cur.execute("DELETE FROM schema_migrations WHERE version = %s", (ALL_VERSIONS[-1],))
    conn.close()
    before = schema_state(db_dsn)

    # When CloudFormation sends Create
    result = app.handler(cfn_event("Create", response_url), Context(), dsn=lambda: db_dsn)

    # Then the handler does not raise: it answers FAILED with the migration runner's reason,
    # and the pending migration was not applied (one transaction)
    (answer,) = (r["body"] for r in response_url.received)
    assert answer["Status"] == "FAILED" == result["Status"]
    assert answer["Reason"].startswith("MigrationError: migration 1_")
    assert "changed after it was applied" in answer["Reason"]
    assert schema_state(db_dsn) == before


def test_an_unreachable_database_reports_failed(response_url: ResponseUrl) -> None:
    # Given a writer endpoint nobody listens on
    app = load_migrate()
    dead = f"postgresql://trading:x@127.0.0.1:{free_port()}/trading?connect_timeout=2"

    # When CloudFormation sends Create
    app.handler(cfn_event("Create", response_url), Context(), dsn=lambda: dead)

    # Then FAILED names the connection error
    (answer,) = (r["body"] for r in response_url.received)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("OperationalError:")


def test_delete_reports_success_and_changes_nothing(db_dsn: str, response_url: ResponseUrl) -> None:
    # Given a migrated database holding an account
    app = load_migrate()
    conn = psycopg2.connect(db_dsn)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts'")
        columns = {row[0] for row in cur.fetchall()}
    conn.close()
    assert columns  # the accounts table exists
    before = schema_state(db_dsn)

    def never() -> str:
        raise AssertionError("Delete must not even connect")

    # When CloudFormation sends Delete (stack deletion, or the rollback of a failed create)
    app.handler(cfn_event("Delete", response_url, physical_id="trading-db-schema"), Context(), dsn=never)

    # Then it answers SUCCESS for the same physical id and the schema is as it was
    (answer,) = (r["body"] for r in response_url.received)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "trading-db-schema")
    assert schema_state(db_dsn) == before


def test_an_unknown_request_type_is_answered_failed(response_url: ResponseUrl) -> None:
    app = load_migrate()
    app.handler(cfn_event("Rename", response_url), Context(), dsn=lambda: "unused")
    (answer,) = (r["body"] for r in response_url.received)
    assert answer["Status"] == "FAILED" and "Rename" in answer["Reason"]


def test_a_migration_stuck_on_the_lock_is_answered_failed_before_the_lambda_times_out(
    db_dsn: str, response_url: ResponseUrl
) -> None:
    # Given another runner holding the migration lock, and an invocation with 21 s left
    app = load_migrate()
    holder = psycopg2.connect(db_dsn)
    cur = holder.cursor()
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    try:
        # When CloudFormation sends Update
        app.handler(
            cfn_event("Update", response_url, physical_id="trading-db-schema"),
            Context(remaining_ms=21_000),
            dsn=lambda: db_dsn,
        )
    finally:
        holder.rollback()
        holder.close()

    # Then the answer is FAILED (timed out) instead of no answer at all
    (answer,) = (r["body"] for r in response_url.received)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("timed out")


def test_the_response_is_retried_when_the_url_fails(response_url: ResponseUrl) -> None:
    # Given a ResponseURL that answers 503 once
    app = load_migrate()
    response_url.fail_first = 1

    # When a Delete is answered
    app.handler(cfn_event("Delete", response_url, physical_id="trading-db-schema"), Context(), dsn=lambda: "")

    # Then the second PUT carries the answer
    (answer,) = (r["body"] for r in response_url.received)
    assert answer["Status"] == "SUCCESS"
    assert response_url.fail_first == 0


def test_the_response_body_stays_under_cloudformations_4_kib(response_url: ResponseUrl) -> None:
    # Given a failure with a very long message
    app = load_migrate()

    def huge() -> str:
        raise RuntimeError("x" * 10_000)

    # When it is answered
    app.handler(cfn_event("Create", response_url), Context(), dsn=huge)

    # Then the reason is cut so the whole body fits
    (received,) = response_url.received
    assert len(json.dumps(received["body"]).encode()) < 4096
    assert received["body"]["Reason"].startswith("RuntimeError: xxx")


def test_the_aws_dsn_uses_the_proxy_writer_and_verifies_its_certificate(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the database secret in Secrets Manager (moto) and the function's environment
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = secrets.create_secret(
        Name=f"db-{uuid.uuid4().hex[:6]}", SecretString=json.dumps({"username": "trading", "password": "p w"})
    )["ARN"]
    environ = {
        "DB_SECRET_ARN": arn,
        "DB_WRITER_HOST": "trading-dev-db.proxy-abc.us-east-1.rds.amazonaws.com",
        "DB_PORT": "5432",
        "DB_NAME": "trading",
    }
    app = load_migrate()

    # When building the DSN
    dsn = psycopg2.extensions.parse_dsn(app.writer_dsn(secrets, environ))

    # Then it reaches the proxy's writer endpoint with TLS verified against a CA file that exists
    assert dsn["host"] == environ["DB_WRITER_HOST"] and dsn["dbname"] == "trading"
    assert (dsn["user"], dsn["password"]) == ("trading", "p w")
    assert dsn["sslmode"] == "verify-full"
    assert Path(dsn["sslrootcert"]).is_file()
    monkeypatch.setenv("DB_SSL_ROOT_CERT", "/opt/certs/custom.pem")
    assert (
        psycopg2.extensions.parse_dsn(app.writer_dsn(secrets, environ))["sslrootcert"]
        == "/opt/certs/custom.pem"
    )
