"""Environment of the WebSocket and notify functions (names from ``docs/architecture.md``)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class _Env(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


class ConnectSettings(_Env):
    connections_table: str
    api_keys_table: str
    replay_window_seconds: int = 30
    api_key_cache_seconds: float = 60.0


class DisconnectSettings(_Env):
    connections_table: str


class MessagesSettings(_Env):
    connections_table: str
    order_books_table: str
    instruments_table: str
    ws_management_endpoint: str


class NotifySettings(_Env):
    connections_table: str
    instruments_table: str
    ws_management_endpoint: str
    notify_max_workers: int = 16
