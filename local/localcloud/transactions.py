"""DynamoDB ``TransactWriteItems`` in moto at the cost of the items it touches, not of the tables.

moto makes a transaction all-or-nothing by deep-copying every table it writes to before applying
the operations one by one, and putting the copy back if any of them fails. The copy costs time in
proportion to the table: against the local Orders table (every order ever placed) a 20-item
matcher commit took about a second once a few thousand orders existed, and the local system got
slower the longer it ran.

:func:`install` keeps moto's own logic (conditions, unicity, errors, cancellation reasons) and
changes only the rollback: before the transaction it copies the items the operations name and
notes the length of each stream; if the transaction fails, it puts those items back (or removes
the ones that did not exist) and drops the stream records the failed operations appended. moto's
global secondary indexes are computed from the items, so they follow. A request this cannot read
(an unknown table, a missing key) is left to moto's whole-table copy, which also produces the
error AWS would. Safe because DynamoDB requests are serialized in the runtime
(:func:`localcloud.moto_cloud.serialize_dynamodb`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table

_installed = False


@dataclass
class _Snapshot:
    """The state a transaction may change: its items as they were, and where each stream ended."""

    items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    streams: list[tuple[list[StreamRecord], int]] = field(default_factory=list)

    def restore(self) -> None:
        for table, hash_value, range_value, item in reversed(self.items):
            _put_back(table, hash_value, range_value, item)
        for records, length in self.streams:
            del records[length:]


def _put_back(
    table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Item | None
) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item  # type: ignore[assignment]  # (moto annotates range tables)
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def _snapshot(backend: DynamoDBBackend, transact_items: Iterable[dict[str, Any]]) -> _Snapshot:
    snapshot = _Snapshot()
    streams_seen: set[int] = set()
    for entry in transact_items:
        ((op_type, op),) = entry.items()
        table = backend.tables[op["TableName"]]
        if op_type == "Put":
            key_attrs = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
            key = {attr: op["Item"][attr] for attr in key_attrs}
        else:
            key = op["Key"]
        hash_value, range_value = backend.get_keys_value(table, key)
        current = table.get_item(hash_value, range_value)
        snapshot.items.append((table, hash_value, range_value, copy.deepcopy(current)))
        shard = table.stream_shard
        if shard is not None and id(shard) not in streams_seen:
            streams_seen.add(id(shard))
            snapshot.streams.append((shard.items, len(shard.items)))
    return snapshot


class _TablesNotCopied:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: while a transaction with a
    snapshot runs, a table "copied" for rollback is the live table (the rollback is the
    snapshot's); every other deep copy is a real one."""

    def __init__(self) -> None:
        self.active = False

    def deepcopy(self, value: Any) -> Any:
        if self.active and isinstance(value, Table):
            return value
        return copy.deepcopy(value)


def install() -> None:
    global _installed  # noqa: PLW0603 - a process-wide patch, applied once
    if _installed:
        return
    shim = _TablesNotCopied()
    setattr(dynamodb_models, "copy", shim)  # noqa: B010 - replacing a module global on purpose
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        try:
            snapshot: _Snapshot | None = _snapshot(self, transact_items)
        except Exception:  # malformed: moto's own path copies the tables and reports the error
            snapshot = None
        shim.active = snapshot is not None
        try:
            original(self, transact_items)
        except BaseException:
            if snapshot is not None:
                snapshot.restore()
            raise
        finally:
            shim.active = False

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
