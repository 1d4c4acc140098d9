"""``OrderBooks`` DynamoDB table, read side: the L2 levels and checkpoint the matcher writes.

Keys: ``symbol`` / ``sk`` with ``sk`` = ``level#BUY#<price:020d>`` (attribute ``quantity``),
``level#SELL#...`` and ``checkpoint`` (attribute ``seq``).
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from trading.adapters import aws
from trading.domain.enums import Side


class OrderBooksTable:
    def __init__(self, table_name: str) -> None:
        self._table = aws.resource("dynamodb").Table(table_name)

    def levels(self, symbol: str, side: Side, depth: int) -> list[tuple[int, int]]:
        """Best ``depth`` levels: bids high to low, asks low to high; empty levels skipped."""
        found: list[tuple[int, int]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("symbol").eq(symbol) & Key("sk").begins_with(f"level#{side}#"),
            "ScanIndexForward": side is Side.SELL,
            "ConsistentRead": True,
        }
        while len(found) < depth:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                quantity = int(item.get("quantity", 0))
                if quantity > 0:
                    found.append((int(str(item["sk"]).rsplit("#", 1)[1]), quantity))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:depth]

    def sequence(self, symbol: str) -> int | None:
        item = self._table.get_item(Key={"symbol": symbol, "sk": "checkpoint"}, ConsistentRead=True).get(
            "Item"
        )
        if not item or "seq" not in item:
            return None
        return int(item["seq"])
