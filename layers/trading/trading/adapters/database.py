"""PostgreSQL (Aurora behind RDS Proxy) connections: bounded pools, credentials from Secrets Manager.

``DB_SECRET_ARN`` names a JSON secret ``{"username", "password"}``; the hosts come from
``DB_WRITER_HOST`` / ``DB_READER_HOST``. Each process (a Lambda container, the local runtime, a
command-line tool) keeps one :class:`ConnectionPool` per endpoint with at most ``DB_POOL_MAX``
connections. Code borrows a connection for one unit of work and the pool takes it back when the
``with`` block ends, whatever happened inside::

    with database.writer() as conn:
        place_hold(conn, hold)

Leaving the block commits an open transaction, an exception rolls it back (like psycopg2's own
``with conn:``, which the work may use too); :func:`lend` gives a connection the caller owns the
same rules (tests, tools with a DSN). A connection that was closed, lost its server (failover,
proxy idle timeout, ``pg_terminate_backend``) or broke during the work is discarded and a fresh one
is opened on the next borrow. When every connection is in use, a borrow waits at most
``DB_POOL_TIMEOUT_SECONDS`` and then raises :class:`PoolTimeout`, an ``OperationalError`` that
callers treat as a transient outage (settlement retries, the API answers 503).
"""

from __future__ import annotations

import collections
import contextlib
import json
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import psycopg2
import psycopg2.extensions

from trading.adapters import aws
from trading.settings import DatabaseSettings

# psycopg2 ships no type information: a connection is ``psycopg2.extensions.connection``.
Connection: TypeAlias = Any
# What code that needs the database is given: ``with borrow() as conn: ...``.
Borrow: TypeAlias = Callable[[], AbstractContextManager[Connection]]

# SQLSTATE classes/codes that mean "try again": connection exceptions (08), serialization failure
# and deadlock (40001, 40P01), lock not available (55P03), query canceled by statement/lock
# timeout (57014), operator intervention / shutdown (57P0x), insufficient resources (53).
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "53", "55P03", "57014", "57P")
# Errors after which the session itself cannot be trusted (the server went away or said so).
_BROKEN_SESSION_SQLSTATE_PREFIXES = ("08", "57P")
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
_UNKNOWN = psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN


class PoolTimeout(psycopg2.OperationalError):  # type: ignore[misc]  # psycopg2 has no stubs
    """No connection became free within the pool's timeout: the database is overloaded or slow.
    Transient by definition; it carries no SQLSTATE, like a refused connection."""


class PoolClosed(psycopg2.InterfaceError):  # type: ignore[misc]
    """The pool was closed (the process is resetting its database configuration)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a database exception means "unavailable right now, retry as is"."""
    if not isinstance(exc, psycopg2.Error):
        return False
    code = getattr(exc, "pgcode", None)
    if code:
        return str(code).startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    # No SQLSTATE: the connection itself failed (refused, reset, closed, timed out, pool timeout).
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


def _breaks_session(exc: BaseException) -> bool:
    if not isinstance(exc, psycopg2.Error):
        return False
    code = getattr(exc, "pgcode", None)
    if code:
        return str(code).startswith(_BROKEN_SESSION_SQLSTATE_PREFIXES)
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of one pool; ``waits``/``timeouts``/``opened``/``discarded`` count since start."""

    name: str
    max_size: int
    size: int  # open connections, idle + in use (never above max_size)
    in_use: int
    idle: int
    peak_size: int
    borrows: int
    waits: int  # borrows that found every connection in use and had to wait
    timeouts: int  # waits that ended in PoolTimeout
    longest_wait_ms: int  # the longest a borrower has waited for a connection
    opened: int
    discarded: int  # closed, lost or broken connections thrown away

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _server_went_away(conn: Connection) -> bool:
    """An idle connection's socket is readable only when the server sent something unasked: the
    FATAL of ``pg_terminate_backend``/shutdown, or EOF after a failover or proxy timeout."""
    try:
        fileno = conn.fileno()
    except psycopg2.Error:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)


class _Waiter:
    """A borrower queued for a connection: it is handed one, or a free slot to open one in."""

    __slots__ = ("conn", "event", "slot")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.conn: Connection | None = None
        self.slot = False


class ConnectionPool:
    """At most ``max_size`` connections to one endpoint, shared by the threads of a process.

    ``connection()`` lends one for the length of a ``with`` block (see the module docstring).
    Connections are opened lazily, reused last-in first-out, and checked before each loan.
    Borrowers that find every connection in use queue first-in first-out: a returned connection
    goes straight to the longest waiter, so a steady stream of new borrowers cannot starve it.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        *,
        max_size: int,
        timeout_s: float,
        name: str = "pool",
    ) -> None:
        if max_size < 1:
            raise ValueError("a pool needs at least one connection")
        self._connect = connect
        self.max_size = max_size
        self.timeout_s = timeout_s
        self.name = name
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._size = 0
        self._in_use = 0
        self._closed = False
        self._peak_size = self._borrows = self._waits = self._timeouts = 0
        self._opened = self._discarded = 0
        self._longest_wait_s = 0.0

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        conn = self._acquire()
        try:
            with lend(conn):
                yield conn
        except BaseException as exc:
            self._release(conn, exc)
            raise
        self._release(conn, None)

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(
                name=self.name,
                max_size=self.max_size,
                size=self._size,
                in_use=self._in_use,
                idle=len(self._idle),
                peak_size=self._peak_size,
                borrows=self._borrows,
                waits=self._waits,
                timeouts=self._timeouts,
                longest_wait_ms=int(self._longest_wait_s * 1000),
                opened=self._opened,
                discarded=self._discarded,
            )

    def close(self) -> None:
        """Close the idle connections and fail the waiters; borrowed ones close when they return."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            waiters, self._waiters = list(self._waiters), collections.deque()
        for waiter in waiters:
            waiter.event.set()
        for conn in idle:
            _close_quietly(conn)

    # -- internals -------------------------------------------------------------------------------
    def _acquire(self) -> Connection:
        stale: list[Connection] = []
        waiter: _Waiter | None = None
        try:
            with self._lock:
                self._borrows += 1
                if self._closed:
                    raise PoolClosed(f"database pool {self.name} is closed")
                if not self._waiters:
                    conn = self._take_idle(stale)
                    if conn is not None:
                        return conn
                if not self._waiters and self._size < self.max_size:
                    self._claim_slot()
                else:
                    waiter = _Waiter()
                    self._waiters.append(waiter)
                    self._waits += 1
        finally:
            for conn in stale:
                _close_quietly(conn)
        if waiter is not None:
            handed = self._wait(waiter)
            if handed is not None:
                return handed
        return self._open()

    def _wait(self, waiter: _Waiter) -> Connection | None:
        """The connection handed to the waiter, or None when it was given a slot to open one."""
        started = time.monotonic()
        served = waiter.event.wait(self.timeout_s)
        with self._lock:
            self._longest_wait_s = max(self._longest_wait_s, time.monotonic() - started)
            if not served and not waiter.event.is_set():
                self._waiters.remove(waiter)
                self._timeouts += 1
                raise PoolTimeout(
                    f"no {self.name} database connection free within {self.timeout_s:g} s "
                    f"(all {self.max_size} in use)"
                )
        if waiter.conn is None and not waiter.slot:
            raise PoolClosed(f"database pool {self.name} is closed")
        return waiter.conn

    def _take_idle(self, stale: list[Connection]) -> Connection | None:
        """Under the lock: the most recently returned idle connection that is still alive."""
        while self._idle:
            conn = self._idle.pop()
            if conn.closed or _server_went_away(conn):
                self._size -= 1
                self._discarded += 1
                stale.append(conn)
                continue
            self._in_use += 1
            return conn
        return None

    def _claim_slot(self) -> None:
        """Under the lock: reserve room for one more connection (opened outside the lock)."""
        self._size += 1
        self._in_use += 1
        self._peak_size = max(self._peak_size, self._size)

    def _pass_slot(self) -> None:
        """Under the lock: a connection went away; the longest waiter may open a new one."""
        if self._waiters and not self._closed and self._size < self.max_size:
            waiter = self._waiters.popleft()
            self._claim_slot()
            waiter.slot = True
            waiter.event.set()

    def _open(self) -> Connection:
        try:
            conn = self._connect()
        except BaseException:
            with self._lock:
                self._size -= 1
                self._in_use -= 1
                self._pass_slot()
            raise
        with self._lock:
            self._opened += 1
        return conn

    def _release(self, conn: Connection, failure: BaseException | None) -> None:
        keep = not conn.closed and (failure is None or not _breaks_session(failure))
        if keep:
            status = conn.info.transaction_status
            if status == _UNKNOWN:
                keep = False
            elif status != _IDLE:
                try:
                    conn.rollback()
                except psycopg2.Error:
                    keep = False
        with self._lock:
            self._in_use -= 1
            keep = keep and not self._closed
            if keep and self._waiters:
                waiter = self._waiters.popleft()
                self._in_use += 1
                waiter.conn = conn
                waiter.event.set()
            elif keep:
                self._idle.append(conn)
            else:
                self._size -= 1
                self._discarded += 1
                self._pass_slot()
        if not keep:
            _close_quietly(conn)


@contextlib.contextmanager
def lend(conn: Connection) -> Iterator[Connection]:
    """One unit of work on a connection the caller owns, with a borrow's transaction rules: commit
    what is open on success, roll back on an exception. Unlike psycopg2's ``with conn:`` it can
    wrap code that itself uses ``with conn:``. Tests and tools with their own connection pass
    ``lambda: lend(conn)`` where a :data:`Borrow` is expected."""
    try:
        yield conn
    except BaseException:
        if not conn.closed:
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
        raise
    if not conn.closed and conn.info.transaction_status != _IDLE:
        conn.commit()


def _close_quietly(conn: Connection) -> None:
    with contextlib.suppress(psycopg2.Error):
        if not conn.closed:
            conn.close()


# CA bundles with the Amazon Trust Services roots that sign RDS Proxy's (ACM) certificates: the
# Lambda runtime's (Amazon Linux) and Debian's (the matcher image).
CA_BUNDLES = ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")
# A connection refused at connect time may be a rotated password: re-read the secret, at most
# this often (an outage must not turn every connect into a Secrets Manager call).
SECRET_REFRESH_INTERVAL_S = 30.0


def ca_bundle(configured: str | None = None) -> str:
    """The CA file libpq verifies the proxy against: ``configured``, certifi's, or the system's."""
    if configured:
        return configured
    try:
        import certifi  # noqa: PLC0415 - optional: present where requests/botocore bring it

        return str(certifi.where())
    except ImportError:
        pass
    for path in CA_BUNDLES:
        if Path(path).is_file():
            return path
    raise RuntimeError("no CA bundle found for sslmode verify-ca/verify-full (set DB_SSL_ROOT_CERT)")


@dataclass(frozen=True)
class DatabaseConfig:
    writer_dsn: str
    reader_dsn: str
    pool_max: int = 2
    pool_timeout_s: float = 5.0
    # Builds the config again from a freshly read secret (password rotation); None: fixed DSNs.
    refresh: Callable[[], DatabaseConfig] | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, secrets: Any | None = None) -> DatabaseConfig:
        client = secrets or aws.client("secretsmanager")
        secret = json.loads(client.get_secret_value(SecretId=settings.db_secret_arn)["SecretString"])
        tls: dict[str, str] = {"sslmode": settings.db_sslmode}
        if settings.db_sslmode in ("verify-ca", "verify-full"):
            tls["sslrootcert"] = ca_bundle(settings.db_ssl_root_cert)

        def dsn(host: str, role: str) -> str:
            return str(
                psycopg2.extensions.make_dsn(
                    host=host,
                    port=settings.db_port,
                    dbname=settings.db_name,
                    user=secret["username"],
                    password=secret["password"],
                    connect_timeout=5,
                    application_name=f"trading-{role}",
                    **tls,
                )
            )

        return cls(
            writer_dsn=dsn(settings.db_writer_host, "writer"),
            reader_dsn=dsn(settings.db_reader_host, "reader"),
            pool_max=settings.db_pool_max,
            pool_timeout_s=settings.db_pool_timeout_seconds,
            refresh=lambda: cls.from_settings(settings, client),
        )


class Database:
    """The writer and reader pools of one process (each bounded by ``config.pool_max``)."""

    def __init__(self, config: DatabaseConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._refreshed_at = clock()
        self._config_lock = threading.Lock()
        self._writer = ConnectionPool(
            lambda: self._connect(lambda c: c.writer_dsn),
            max_size=config.pool_max,
            timeout_s=config.pool_timeout_s,
            name="writer",
        )
        self._reader = ConnectionPool(
            self._open_reader, max_size=config.pool_max, timeout_s=config.pool_timeout_s, name="reader"
        )

    def _connect(self, dsn_of: Callable[[DatabaseConfig], str]) -> Connection:
        """Connect; when refused, re-read the secret (a rotated password) and try once more."""
        config = self._config
        try:
            return psycopg2.connect(dsn_of(config))
        except psycopg2.OperationalError as refused:
            try:
                fresh = self._refresh(config)
            except Exception as exc:  # the secret unreadable too: the database error is the answer
                raise refused from exc
            if fresh is None:
                raise
            return psycopg2.connect(dsn_of(fresh))

    def _refresh(self, seen: DatabaseConfig) -> DatabaseConfig | None:
        """A config built from the secret as it is now, or None when there is nothing to refresh
        (fixed DSNs, or refreshed within SECRET_REFRESH_INTERVAL_S)."""
        with self._config_lock:
            if self._config is not seen:
                return self._config  # another thread refreshed it meanwhile
            if seen.refresh is None or self._clock() - self._refreshed_at < SECRET_REFRESH_INTERVAL_S:
                return None
            self._refreshed_at = self._clock()
            self._config = seen.refresh()
            return self._config

    def _open_reader(self) -> Connection:
        conn = self._connect(lambda c: c.reader_dsn)
        # Reads may lag the writer but must never write. Read-only per transaction (psycopg2 then
        # starts each one with BEGIN READ ONLY): a session-level setting (autocommit + readonly
        # is SET default_transaction_read_only) would pin every connection to one RDS Proxy
        # backend. The borrow commits or rolls back each unit of work.
        conn.set_session(readonly=True, autocommit=False)
        return conn

    def writer(self) -> AbstractContextManager[Connection]:
        return self._writer.connection()

    def reader(self) -> AbstractContextManager[Connection]:
        return self._reader.connection()

    def stats(self) -> dict[str, PoolStats]:
        return {"writer": self._writer.stats(), "reader": self._reader.stats()}

    def close(self) -> None:
        self._writer.close()
        self._reader.close()


_lock = threading.Lock()
_default: Database | None = None


def default() -> Database:
    """The process's database, configured from the environment on first use."""
    global _default  # noqa: PLW0603 - one pair of pools per process (Lambda container) is the point
    with _lock:
        if _default is None:
            _default = Database(DatabaseConfig.from_settings(DatabaseSettings()))
        return _default


def writer() -> AbstractContextManager[Connection]:
    """Borrow a writer connection: ``with database.writer() as conn: ...``."""
    return default().writer()


def reader() -> AbstractContextManager[Connection]:
    """Borrow a (read-only, autocommit) reader connection."""
    return default().reader()


def stats() -> dict[str, PoolStats]:
    """The process's pool statistics; empty until something used the database."""
    with _lock:
        return _default.stats() if _default is not None else {}


def reset() -> None:
    global _default  # noqa: PLW0603
    with _lock:
        if _default is not None:
            _default.close()
        _default = None
