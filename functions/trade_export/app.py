"""Placeholder handler for the `trade_export` function; its owner replaces this file."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    raise NotImplementedError("trade_export is not implemented yet")
