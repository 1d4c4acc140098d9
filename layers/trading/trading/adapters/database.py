"""PostgreSQL (Aurora behind RDS Proxy) connections: credentials from Secrets Manager.

``DB_SECRET_ARN`` names a JSON secret ``{"username", "password"}``; the hosts come from
``DB_WRITER_HOST`` / ``DB_READER_HOST``. One writer and one reader connection are kept per Lambda
container and re-opened when they were closed (Proxy idle timeout, failover).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, TypeAlias

import psycopg2
import psycopg2.extensions

from trading.adapters import aws
from trading.settings import DatabaseSettings

# psycopg2 ships no type information: a connection is ``psycopg2.extensions.connection``.
Connection: TypeAlias = Any


@dataclass(frozen=True)
class DatabaseConfig:
    writer_dsn: str
    reader_dsn: str

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, secrets: Any | None = None) -> DatabaseConfig:
        secrets = secrets or aws.client("secretsmanager")
        secret = json.loads(secrets.get_secret_value(SecretId=settings.db_secret_arn)["SecretString"])

        def dsn(host: str) -> str:
            return str(
                psycopg2.extensions.make_dsn(
                    host=host,
                    port=settings.db_port,
                    dbname=settings.db_name,
                    user=secret["username"],
                    password=secret["password"],
                    connect_timeout=5,
                )
            )

        return cls(writer_dsn=dsn(settings.db_writer_host), reader_dsn=dsn(settings.db_reader_host))


class Database:
    """Lazily opened, cached writer and reader connections, one pair per thread.

    A Lambda container runs one invocation at a time on one thread, so this is one pair per
    container. The local runtime runs every function in one process on many threads: per-thread
    connections keep one function's transaction from ever interleaving with another's.
    """

    def __init__(self, config: DatabaseConfig) -> None:
        self._config = config
        self._local = threading.local()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()

    def _open(self, dsn: str) -> Connection:
        conn = psycopg2.connect(dsn)
        with self._all_lock:
            self._all = [c for c in self._all if not c.closed]
            self._all.append(conn)
        return conn

    def writer(self) -> Connection:
        conn: Connection | None = getattr(self._local, "writer", None)
        if conn is None or conn.closed:
            conn = self._local.writer = self._open(self._config.writer_dsn)
        return conn

    def reader(self) -> Connection:
        conn: Connection | None = getattr(self._local, "reader", None)
        if conn is None or conn.closed:
            conn = self._local.reader = self._open(self._config.reader_dsn)
            # Reads may lag the writer but must never write.
            conn.set_session(readonly=True, autocommit=True)
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                if not conn.closed:
                    conn.close()
            self._all = []


_lock = threading.Lock()
_default: Database | None = None


def default() -> Database:
    """The container's database, configured from the environment on first use."""
    global _default  # noqa: PLW0603 - one cached pool per Lambda container is the point
    with _lock:
        if _default is None:
            _default = Database(DatabaseConfig.from_settings(DatabaseSettings()))
        return _default


def writer() -> Connection:
    return default().writer()


def reader() -> Connection:
    return default().reader()


def reset() -> None:
    global _default  # noqa: PLW0603
    with _lock:
        if _default is not None:
            _default.close()
        _default = None
