"""``Instruments`` DynamoDB table: one item per symbol with the ``Instrument`` model's fields."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import ClientError

from trading.adapters import aws
from trading.adapters.dynamo import plain
from trading.domain.enums import InstrumentStatus
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import Instrument


class InstrumentsTable:
    """Reads are cached for ``cache_seconds`` (a halt takes effect after at most that long)."""

    def __init__(self, table_name: str, cache_seconds: float = 0.0) -> None:
        self._table = aws.resource("dynamodb").Table(table_name)
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._loaded_at = -1e18
        self._by_symbol: dict[str, Instrument] = {}

    def all(self) -> list[Instrument]:
        with self._lock:
            if time.monotonic() - self._loaded_at >= self._cache_seconds:
                items: list[dict[str, object]] = []
                kwargs: dict[str, object] = {"ConsistentRead": True}
                while True:
                    page = self._table.scan(**kwargs)
                    items.extend(page.get("Items", []))
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
                self._by_symbol = {str(i["symbol"]): Instrument.model_validate(plain(i)) for i in items}
                self._loaded_at = time.monotonic()
            return sorted(self._by_symbol.values(), key=lambda i: i.symbol)

    def get(self, symbol: str) -> Instrument:
        for instrument in self.all():
            if instrument.symbol == symbol:
                return instrument
        raise DomainError(ErrorCode.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}")

    def put(self, instrument: Instrument) -> None:
        self._table.put_item(Item=instrument.model_dump(mode="json"))
        self._loaded_at = -1e18

    def set_status(self, symbol: str, status: InstrumentStatus) -> None:
        """Halt or resume a listed symbol; ``UNKNOWN_SYMBOL`` for one that is not listed."""
        try:
            self._table.update_item(
                Key={"symbol": symbol},
                UpdateExpression="SET #s = :s",
                ConditionExpression="attribute_exists(symbol)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": str(status)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise DomainError(ErrorCode.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}") from exc
            raise
        self._loaded_at = -1e18
