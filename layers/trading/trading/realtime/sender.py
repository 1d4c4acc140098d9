"""Pushing frames to WebSocket connections through the API Gateway ``@connections`` endpoint."""

import logging
from enum import StrEnum
from typing import Any, Protocol

import orjson

from trading.realtime.messages import Message

logger = logging.getLogger(__name__)

# API Gateway accepts 128 KB per post_to_connection; batching stays well below one 32 KB frame
# so a batch is never split by the gateway. A single larger message (a deep snapshot) goes alone.
MAX_BATCH_BYTES = 32 * 1024


class SendOutcome(StrEnum):
    SENT = "SENT"
    GONE = "GONE"  # 410: the client disconnected; remove the connection
    FAILED = "FAILED"  # anything else; logged and counted, never retried across connections


class ConnectionSender(Protocol):
    def send(self, connection_id: str, payload: bytes) -> SendOutcome:
        """Never raises: every failure is an outcome."""
        ...


def encode(message: Message) -> bytes:
    return orjson.dumps(message)


def frames(messages: list[Message]) -> list[bytes]:
    """Pack messages in order into frames: one object alone, or a JSON array of several."""
    encoded = [encode(message) for message in messages]
    out: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for item in encoded:
        if batch and size + len(item) + 1 > MAX_BATCH_BYTES:
            out.append(_frame(batch))
            batch, size = [], 0
        batch.append(item)
        size += len(item) + 1
    if batch:
        out.append(_frame(batch))
    return out


def _frame(batch: list[bytes]) -> bytes:
    return batch[0] if len(batch) == 1 else b"[" + b",".join(batch) + b"]"


class ApiGatewaySender:
    """``ConnectionSender`` on ``boto3.client("apigatewaymanagementapi", endpoint_url=...)``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, connection_id: str, payload: bytes) -> SendOutcome:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except self._client.exceptions.GoneException:
            return SendOutcome.GONE
        except Exception as exc:  # one connection's failure must never stop the others
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 410:
                return SendOutcome.GONE
            logger.warning("post_to_connection %s failed: %r", connection_id, exc)
            return SendOutcome.FAILED
        return SendOutcome.SENT


def make_management_client(endpoint_url: str, session: Any | None = None) -> Any:
    """A management API client with short timeouts and few retries: a slow connection must not
    hold up a whole fan-out."""
    import boto3  # noqa: PLC0415 - keeps this module importable without creating clients
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    return (session or boto3).client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=config)
