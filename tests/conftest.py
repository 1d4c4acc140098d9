"""Fixtures shared by every test layer: real embedded PostgreSQL and a real moto server.

Each xdist worker gets its own PostgreSQL cluster and moto server on free loopback ports, so
workers never share state. Tests that write to the database get a fresh database cloned from a
migrated template (``CREATE DATABASE ... TEMPLATE`` takes a few milliseconds).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from localcloud.postgres import Credentials, EmbeddedPostgres, free_port
from moto.server import ThreadedMotoServer
from trading.db.migrate import apply_migrations

TEMPLATE_DB = "trading_template"


@pytest.fixture(scope="session")
def pg_credentials(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Credentials]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    creds = server.start()
    admin = psycopg2.connect(creds.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    admin.close()
    apply_migrations(creds.dsn(TEMPLATE_DB))
    yield creds
    server.stop()


@pytest.fixture
def db_dsn(pg_credentials: Credentials) -> Iterator[str]:
    """A fresh, fully migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = psycopg2.connect(pg_credentials.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    try:
        yield pg_credentials.dsn(name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server on loopback; boto3 clients reach it through ``AWS_ENDPOINT_URL``."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
