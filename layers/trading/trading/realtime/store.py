"""Connections and subscriptions in the ``Connections`` table.

Layout (one partition per connection, so a disconnect removes everything with one query):

* connection:   ``pk = conn#<connection_id>``, ``sk = conn`` — ``account_id``, ``key_id``,
  ``connected_at``, ``expires_at``
* subscription: ``pk = conn#<connection_id>``, ``sk = sub#<channel key>`` — ``channel``,
  ``connection_id``, ``expires_at``; only subscriptions carry ``channel``, so the ``by-channel``
  GSI (``channel`` / ``connection_id``) is a sparse index of subscribers per channel.

``expires_at`` (epoch seconds) is the table's TTL attribute: API Gateway closes a connection after at
most two hours, so anything a lost ``$disconnect`` leaves behind expires on its own. Reads ignore
expired items because TTL deletion can lag.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from trading.realtime.channels import Channel

CONNECTION_TTL_SECONDS = 3 * 3600  # API Gateway's 2 h connection limit plus slack
MAX_SUBSCRIPTIONS = 50
BY_CHANNEL_INDEX = "by-channel"
_CONNECTION_SK = "conn"
_SUB_PREFIX = "sub#"


@dataclass(frozen=True, slots=True)
class Connection:
    connection_id: str
    account_id: str
    key_id: str
    expires_at: int


class SubscriptionLimitError(Exception):
    """The connection already has ``MAX_SUBSCRIPTIONS`` subscriptions."""


class ConnectionGoneError(Exception):
    """The connection item does not exist (disconnected or expired)."""


class ConnectionStore(Protocol):
    def add_connection(self, connection_id: str, account_id: str, key_id: str) -> Connection: ...

    def get_connection(self, connection_id: str) -> Connection | None: ...

    def remove_connection(self, connection_id: str) -> int:
        """Delete the connection and all its subscriptions; the number of items deleted."""
        ...

    def subscribe(self, connection: Connection, channel: Channel) -> None: ...

    def unsubscribe(self, connection_id: str, channel: Channel) -> bool: ...

    def subscribers(self, channel_key: str) -> list[str]: ...


def _pk(connection_id: str) -> str:
    return f"conn#{connection_id}"


class DynamoConnectionStore:
    """``ConnectionStore`` on the low-level DynamoDB client (``boto3.client("dynamodb")``)."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def add_connection(self, connection_id: str, account_id: str, key_id: str) -> Connection:
        now = self._now()
        connection = Connection(connection_id, account_id, key_id, now + CONNECTION_TTL_SECONDS)
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(connection_id)},
                "sk": {"S": _CONNECTION_SK},
                "connection_id": {"S": connection_id},
                "account_id": {"S": account_id},
                "key_id": {"S": key_id},
                "connected_at": {"N": str(now)},
                "expires_at": {"N": str(connection.expires_at)},
            },
        )
        return connection

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(connection_id)}, "sk": {"S": _CONNECTION_SK}},
            ConsistentRead=True,
        ).get("Item")
        if item is None or int(item["expires_at"]["N"]) <= self._now():
            return None
        return Connection(
            connection_id=connection_id,
            account_id=item["account_id"]["S"],
            key_id=item["key_id"]["S"],
            expires_at=int(item["expires_at"]["N"]),
        )

    def _keys(self, connection_id: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": _pk(connection_id)}}
        if sk_prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": sk_prefix}
        keys: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            keys.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return keys
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def remove_connection(self, connection_id: str) -> int:
        keys = self._keys(connection_id)
        for start in range(0, len(keys), 25):
            pending: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]
            ]
            for _ in range(8):
                response = self._client.batch_write_item(RequestItems={self._table: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"could not delete {len(pending)} items of connection {connection_id}")
        return len(keys)

    def subscribe(self, connection: Connection, channel: Channel) -> None:
        """Idempotent; atomic with a check that the connection still exists."""
        existing = {key["sk"]["S"] for key in self._keys(connection.connection_id, _SUB_PREFIX)}
        if len(existing) >= MAX_SUBSCRIPTIONS and _SUB_PREFIX + channel.key not in existing:
            raise SubscriptionLimitError(f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": _pk(connection.connection_id)}, "sk": {"S": _CONNECTION_SK}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": _pk(connection.connection_id)},
                                "sk": {"S": _SUB_PREFIX + channel.key},
                                "channel": {"S": channel.key},
                                "connection_id": {"S": connection.connection_id},
                                "expires_at": {"N": str(connection.expires_at)},
                            },
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise ConnectionGoneError(connection.connection_id) from exc

    def unsubscribe(self, connection_id: str, channel: Channel) -> bool:
        response = self._client.delete_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(connection_id)}, "sk": {"S": _SUB_PREFIX + channel.key}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response

    def subscribers(self, channel_key: str) -> list[str]:
        """Connection ids subscribed to ``channel_key`` (eventually consistent GSI read)."""
        now = self._now()
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_CHANNEL_INDEX,
            "KeyConditionExpression": "#channel = :channel",
            "ExpressionAttributeValues": {":channel": {"S": channel_key}},
            "ExpressionAttributeNames": {"#channel": "channel", "#id": "connection_id", "#exp": "expires_at"},
            "ProjectionExpression": "#id, #exp",
        }
        found: list[str] = []
        while True:
            page = self._client.query(**request)
            found.extend(
                item["connection_id"]["S"]
                for item in page.get("Items", [])
                if int(item.get("expires_at", {"N": "0"})["N"]) > now
            )
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
