"""The L2 book a ``book:<symbol>`` subscriber starts from, read from the ``OrderBooks`` table.

The matcher writes the levels it touches and the per-symbol ``checkpoint`` (attribute ``seq``) in
one transaction per batch. A query is not isolated from those transactions, so the checkpoint is read
before and after the levels: when both reads agree no batch committed in between and the levels are
exactly the book at that ``seq``; otherwise the read is repeated. A batch too large for one
transaction leaves some level writes ``deferred`` in its outbox item until the matcher applies them;
while such an item exists the levels may lag the checkpoint, so the read is repeated too.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from trading.domain.enums import Side

_LEVEL_PREFIX = "level#"
_CHECKPOINT_SK = "checkpoint"
_OUTBOX_PREFIX = "outbox#"
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    symbol: str
    seq: int
    bids: list[tuple[int, int]]  # (price, quantity), best (highest) first
    asks: list[tuple[int, int]]  # best (lowest) first


class BookSource(Protocol):
    def snapshot(self, symbol: str) -> BookSnapshot: ...


class UnstableSnapshotError(Exception):
    """The book kept changing while it was read; the client may subscribe again."""


class DynamoBookSource:
    def __init__(self, client: Any, table_name: str, pause: Callable[[int], None] | None = None) -> None:
        self._client = client
        self._table = table_name
        self._pause = pause or (lambda attempt: time.sleep(0.02 * (attempt + 1)))

    def _checkpoint_seq(self, symbol: str) -> int:
        item = self._client.get_item(
            TableName=self._table,
            Key={"symbol": {"S": symbol}, "sk": {"S": _CHECKPOINT_SK}},
            ConsistentRead=True,
            ProjectionExpression="#seq",
            ExpressionAttributeNames={"#seq": "seq"},
        ).get("Item")
        return int(item["seq"]["N"]) if item and "seq" in item else 0

    def _levels(self, symbol: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "symbol = :symbol AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":symbol": {"S": symbol}, ":prefix": {"S": _LEVEL_PREFIX}},
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _has_deferred_writes(self, symbol: str) -> bool:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "symbol = :symbol AND begins_with(sk, :prefix)",
            "FilterExpression": "attribute_exists(#deferred)",
            "ExpressionAttributeNames": {"#deferred": "deferred"},
            "ExpressionAttributeValues": {":symbol": {"S": symbol}, ":prefix": {"S": _OUTBOX_PREFIX}},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            if page.get("Items"):
                return True
            if "LastEvaluatedKey" not in page:
                return False
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def snapshot(self, symbol: str) -> BookSnapshot:
        for attempt in range(MAX_ATTEMPTS):
            before = self._checkpoint_seq(symbol)
            items = self._levels(symbol)
            stable = not self._has_deferred_writes(symbol) and self._checkpoint_seq(symbol) == before
            if stable:
                return build_snapshot(symbol, before, items)
            self._pause(attempt)
        raise UnstableSnapshotError(symbol)


def build_snapshot(symbol: str, seq: int, items: list[dict[str, Any]]) -> BookSnapshot:
    """Level items (``sk = level#<SIDE>#<price:020d>``, ``quantity``) -> sorted L2 sides."""
    bids: list[tuple[int, int]] = []
    asks: list[tuple[int, int]] = []
    for item in items:
        _, side, price = item["sk"]["S"].split("#", 2)
        quantity = int(item["quantity"]["N"])
        if quantity <= 0:
            continue  # an emptied level the matcher kept
        (bids if Side(side) is Side.BUY else asks).append((int(price), quantity))
    bids.sort(reverse=True)
    asks.sort()
    return BookSnapshot(symbol, seq, bids, asks)
