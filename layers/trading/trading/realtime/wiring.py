"""Builds the realtime ports from settings: the one place that creates boto3 clients for them.

``AWS_ENDPOINT_URL`` (local runtime, tests) is honoured by boto3 itself; the management endpoint
comes from ``WS_MANAGEMENT_ENDPOINT`` explicitly because it is per API, not per service.
"""

from typing import Any

import boto3
from botocore.config import Config

from trading.realtime.fanout import Notifier
from trading.realtime.instruments import DynamoInstrumentCatalog
from trading.realtime.sender import ApiGatewaySender, make_management_client
from trading.realtime.session import Session
from trading.realtime.settings import MessagesSettings, NotifySettings
from trading.realtime.snapshot import DynamoBookSource
from trading.realtime.store import DynamoConnectionStore

_DYNAMO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


def dynamodb() -> Any:
    return boto3.session.Session().client("dynamodb", config=_DYNAMO_CONFIG)


def connection_store(table_name: str) -> DynamoConnectionStore:
    return DynamoConnectionStore(dynamodb(), table_name)


def session(settings: MessagesSettings) -> Session:
    client = dynamodb()
    return Session(
        store=DynamoConnectionStore(client, settings.connections_table),
        sender=ApiGatewaySender(make_management_client(settings.ws_management_endpoint)),
        books=DynamoBookSource(client, settings.order_books_table),
        instruments=DynamoInstrumentCatalog(client, settings.instruments_table),
    )


def notifier(settings: NotifySettings) -> Notifier:
    client = dynamodb()
    return Notifier(
        store=DynamoConnectionStore(client, settings.connections_table),
        sender=ApiGatewaySender(make_management_client(settings.ws_management_endpoint)),
        instruments=DynamoInstrumentCatalog(client, settings.instruments_table),
        max_workers=settings.notify_max_workers,
    )
