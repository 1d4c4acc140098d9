"""The matcher's settings, validated once at start from the environment (docs/architecture.md).

``AWS_ENDPOINT_URL`` is not a setting: boto3 honours it by itself, which is how the local runtime
points the very same code at moto.
"""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CrashPoint = Literal["", "before_commit", "after_commit", "after_put_events", "after_publish"]


class MatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    orders_table: str
    order_books_table: str
    instruments_table: str
    orders_queue_url: str
    event_bus_name: str

    matcher_http_host: str = "0.0.0.0"  # noqa: S104 - the ALB health check reaches the task's ENI
    matcher_http_port: int = Field(default=8080, ge=0, le=65535)
    # SQS long poll: the longest a SIGTERM waits before the loop notices it (ECS stopTimeout is 30 s).
    matcher_wait_seconds: int = Field(default=20, ge=0, le=20)
    matcher_max_messages: int = Field(default=10, ge=1, le=10)
    # Symbols this task owns (comma separated); empty = every symbol in the Instruments table.
    matcher_symbols: str = ""
    # How long a cached instrument status (TRADING/HALTED) is trusted; 0 = re-read every batch.
    matcher_instrument_refresh_seconds: float = Field(default=1.0, ge=0)
    # Attempts to commit one symbol's batch when the checkpoint condition fences this task off.
    matcher_commit_attempts: int = Field(default=5, ge=1)
    # Publish (PutEvents, outbox and message deletes) in a second thread while the next batch is
    # received, applied and committed; the outbox makes this as safe as publishing inline. Pays
    # off with account_symbol groups; with symbol groups the next batch of a symbol is locked
    # until the delete anyway (docs/matcher.md, benchmark).
    matcher_publish_pipeline: bool = False
    # Fault injection for the crash tests: the process exits hard (os._exit) at this point of the
    # first batch that reaches it. Never set in a deployment.
    matcher_crash_at: CrashPoint = ""
    log_level: str = "INFO"

    @property
    def owned_symbols(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.matcher_symbols.split(",") if s.strip())
