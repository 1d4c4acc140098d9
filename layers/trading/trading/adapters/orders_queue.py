"""``orders.fifo``: matcher commands in the wire format of docs/architecture.md.

The JSON is written here with orjson in the documented format, in its canonical shape (fields at
their default left out, :mod:`trading.domain.command_wire`), so this adapter does not depend on
the engine package (``trading.engine.codec`` decodes the same format).
"""

from __future__ import annotations

from typing import Any

import orjson

from trading.adapters import aws
from trading.domain.command_wire import compact_command
from trading.settings import GroupScheme


def group_id(scheme: GroupScheme, account_id: str, symbol: str) -> str:
    """MessageGroupId for a command (docs/adr/0004-message-group-id.md).

    ``symbol``: one group per symbol, strict arrival order per book, one batch in flight per symbol.
    ``account_symbol``: one group per (account, symbol): each client's commands stay in order and the
    matcher can have many batches of one symbol in flight; its own sequence defines time priority.
    """
    if scheme == "symbol":
        return symbol
    return f"{symbol}|{account_id}"


class OrdersQueue:
    def __init__(self, queue_url: str, scheme: GroupScheme) -> None:
        self._url = queue_url
        self._scheme = scheme
        self._sqs = aws.client("sqs")

    def send(self, command: dict[str, Any], dedup_id: str) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=orjson.dumps(compact_command(command)).decode(),
            MessageGroupId=group_id(self._scheme, str(command["account_id"]), str(command["symbol"])),
            MessageDeduplicationId=dedup_id,
        )
