"""Configuration models, one per function, composed from shared pieces.

Every value comes from the environment names in ``docs/architecture.md``; they are validated once
when a function starts (a missing variable fails the cold start, not the first order). Nothing
else in the code reads ``os.environ``.
"""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GroupScheme = Literal["symbol", "account_symbol"]


class _Env(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


class DatabaseSettings(_Env):
    db_secret_arn: str
    db_writer_host: str
    db_reader_host: str
    db_port: int = 5432
    db_name: str
    # Connections per endpoint (writer, reader) per process. A Lambda container runs one invocation
    # at a time, so 2 leaves room and bounds the proxy's client connections at 4 per container;
    # the local runtime, whose functions share one process and many threads, sets its own.
    db_pool_max: int = Field(default=2, ge=1)
    # How long a borrow waits for a free connection before raising PoolTimeout (a transient error).
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # TLS to RDS Proxy, verified against its host name (libpq's default "prefer" verifies nothing).
    # The local runtime's embedded PostgreSQL has no TLS and sets "disable".
    db_sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "verify-full"
    # CA bundle for verify-ca/verify-full; default: the first system bundle found (see database.py).
    db_ssl_root_cert: str | None = None


class OrdersTableSettings(_Env):
    orders_table: str


class OrdersQueueSettings(_Env):
    orders_queue_url: str
    # MessageGroupId scheme for orders.fifo, see docs/adr/0004-message-group-id.md
    order_group_scheme: GroupScheme = "symbol"


class InstrumentsTableSettings(_Env):
    instruments_table: str
    # How long a function trusts its cached copy of the instruments (a halt takes effect after it).
    instruments_cache_seconds: float = 1.0


class OrderBooksTableSettings(_Env):
    order_books_table: str


class ApiKeysTableSettings(_Env):
    api_keys_table: str


class IdempotencySettings(_Env):
    idempotency_table: str
    idempotency_expiry_seconds: int = 3600


class AuthorizerSettings(ApiKeysTableSettings):
    replay_window_seconds: int = 30
    api_key_cache_seconds: float = 60.0


class AdminSettings(_Env):
    # API Gateway usage plan that new trader keys join (unset locally: no API Gateway keys to register)
    usage_plan_id: str | None = None
