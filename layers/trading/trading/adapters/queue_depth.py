"""How many messages an SQS queue holds (read-only: nothing is received, nothing changes)."""

from __future__ import annotations

from typing import Any

from trading.adapters import aws

_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class QueueDepth:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url = queue_url
        self._client = client

    def count(self) -> int:
        """Visible + in flight + delayed (a message being re-driven still counts until deleted)."""
        client = self._client or aws.client("sqs")
        attributes = client.get_queue_attributes(QueueUrl=self._url, AttributeNames=list(_ATTRIBUTES))
        return sum(int(attributes.get("Attributes", {}).get(name, 0)) for name in _ATTRIBUTES)
