"""A small versioned-SQL migration runner.

Migrations are ``migrations/NNNN_description.sql`` files applied in version order, all pending
ones in one transaction (a failure leaves the schema as it was), recorded in
``schema_migrations`` with a checksum. Running it again is a no-op;
a changed file that was already applied is an error (write a new migration instead). A
transaction-level advisory lock serialises concurrent runners (several Lambdas or test workers
starting at once).

Usage: ``python -m trading.db.migrate postgresql://user:pass@host:port/db``
"""

import hashlib
import re
import sys
from dataclasses import dataclass
from importlib import resources

import psycopg2

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_LOCK_KEY = 0x7472616465  # "trade": any constant shared by every runner


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover() -> list[Migration]:
    found = []
    for entry in resources.files("trading.db").joinpath("migrations").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


def apply_migrations(dsn: str) -> list[int]:
    """Apply every pending migration; return the versions applied by this call."""
    applied_now: list[int] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            cur.execute("SELECT version, checksum FROM schema_migrations")
            done = dict(cur.fetchall())
            for migration in discover():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version}_{migration.name} changed after it was applied"
                        )
                    continue
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                applied_now.append(migration.version)
    finally:
        conn.close()
    return applied_now


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m trading.db.migrate DSN\n")
        return 2
    applied = apply_migrations(argv[1])
    sys.stdout.write(f"applied migrations: {applied or 'none (up to date)'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
