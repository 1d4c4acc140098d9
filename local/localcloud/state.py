"""moto's state across restarts: DynamoDB items and SQS messages saved in the data dir.

moto keeps everything in memory and every start deploys the stack again, so a clean stop saves
the items of the stack's tables (``dynamodb.json``) and the messages of its queues (``sqs.json``,
in queue order with group and deduplication ids, in flight or not), keyed by logical id; the next
start puts them back into the re-created resources before any poller or the matcher runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from moto.sqs.models import sqs_backends

_log = logging.getLogger(__name__)

TABLES_FILE = "dynamodb.json"
QUEUES_FILE = "sqs.json"


def _write(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _queue_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


class StateStore:
    def __init__(self, data_dir: Path, endpoint: str, region: str, account_id: str) -> None:
        self.data_dir = data_dir
        self.region = region
        self.account_id = account_id
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)

    def save(self, tables: Mapping[str, str], queues: Mapping[str, str]) -> None:
        """Tables and queues by logical id -> physical name / URL."""
        items: dict[str, list[Any]] = {}
        for logical_id, name in tables.items():
            items[logical_id] = []
            for page in self._dynamodb.get_paginator("scan").paginate(TableName=name):
                items[logical_id].extend(page.get("Items", []))
        _write(self.data_dir / TABLES_FILE, items)
        backend = sqs_backends[self.account_id][self.region]
        messages: dict[str, list[dict[str, Any]]] = {}
        for logical_id, url in queues.items():
            queue = backend.queues.get(_queue_name(url))
            if queue is None:
                continue
            messages[logical_id] = [
                {
                    "body": m.body,
                    "group_id": m.group_id,
                    "deduplication_id": m.deduplication_id,
                    "attributes": m.message_attributes,
                }
                for m in list(queue._messages)
            ]
        _write(self.data_dir / QUEUES_FILE, messages)

    def restore(self, tables: Mapping[str, str], queues: Mapping[str, str]) -> bool:
        """Put saved items and messages back; True when anything was restored."""
        restored_items = self._restore_tables(tables)
        restored_messages = self._restore_queues(queues)
        if restored_items or restored_messages:
            _log.info("restored %d DynamoDB items and %d SQS messages", restored_items, restored_messages)
        return bool(restored_items or restored_messages)

    def _restore_tables(self, tables: Mapping[str, str]) -> int:
        path = self.data_dir / TABLES_FILE
        if not path.exists():
            return 0
        restored = 0
        for logical_id, items in json.loads(path.read_text()).items():
            name = tables.get(logical_id)
            if name is None:
                continue
            for start in range(0, len(items), 25):
                pending: dict[str, Any] = {
                    name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
                }
                while pending:
                    pending = (
                        self._dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    )
            restored += len(items)
        return restored

    def _restore_queues(self, queues: Mapping[str, str]) -> int:
        path = self.data_dir / QUEUES_FILE
        if not path.exists():
            return 0
        backend = sqs_backends[self.account_id][self.region]
        restored = 0
        for logical_id, messages in json.loads(path.read_text()).items():
            url = queues.get(logical_id)
            if url is None:
                continue
            for message in messages:
                backend.send_message(
                    _queue_name(url),
                    message["body"],
                    message_attributes=message["attributes"] or None,
                    deduplication_id=message["deduplication_id"],
                    group_id=message["group_id"],
                )
                restored += 1
        return restored
