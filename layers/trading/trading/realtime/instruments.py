"""Instrument lookup for rendering decimal strings, read from the ``Instruments`` table and cached.

Instruments change rarely (a halt flips ``status``, which rendering does not use), so a warm Lambda
keeps what it has read for ``ttl_seconds``.
"""

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from trading.domain.instruments import Instrument

_DESERIALIZER = TypeDeserializer()


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as ``Decimal``; instruments only hold integers."""
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, bool | int):
        numerator, denominator = value.as_integer_ratio()
        if denominator != 1:
            raise ValueError(f"non-integer number {value} in an instrument")
        return numerator
    return value


class DynamoInstrumentCatalog:
    def __init__(
        self,
        client: Any,
        table_name: str,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table_name
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Instrument | None]] = {}

    def __call__(self, symbol: str) -> Instrument | None:
        now = self._clock()
        cached = self._cache.get(symbol)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        item = self._client.get_item(TableName=self._table, Key={"symbol": {"S": symbol}}).get("Item")
        instrument = None
        if item is not None:
            fields = {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}
            known = Instrument.model_fields
            instrument = Instrument.model_validate({k: v for k, v in fields.items() if k in known})
        self._cache[symbol] = (now, instrument)
        return instrument
