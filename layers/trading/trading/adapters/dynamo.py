"""Small helpers for DynamoDB items read through the boto3 resource API."""

from decimal import Decimal
from typing import Any


def plain(value: Any) -> Any:
    """Turn the resource API's ``Decimal`` numbers back into ``int`` (we never store fractions)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value
