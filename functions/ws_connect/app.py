"""WebSocket ``$connect``: verify the signed query parameters, then register the connection.

Any non-2xx answer makes API Gateway refuse the upgrade, so an unauthenticated client never gets a
connection.
"""

import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.adapters.api_keys import ApiKeysTable
from trading.domain.errors import DomainError
from trading.realtime import session, wiring
from trading.realtime.settings import ConnectSettings
from trading.realtime.store import DynamoConnectionStore

logger = Logger()
metrics = Metrics()


@cache
def _ports() -> tuple[ConnectSettings, DynamoConnectionStore, ApiKeysTable]:
    settings = ConnectSettings()
    return (
        settings,
        wiring.connection_store(settings.connections_table),
        ApiKeysTable(settings.api_keys_table, settings.api_key_cache_seconds),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, store, keys = _ports()
    connection_id = str(session.request_context(event).get("connectionId", ""))
    try:
        principal = session.authenticate(
            event.get("queryStringParameters"),
            keys.get,
            time.time_ns() // 1_000_000,
            settings.replay_window_seconds,
        )
    except DomainError as exc:
        logger.info("connect refused", extra={"connection_id": connection_id, "code": str(exc.code)})
        metrics.add_metric(name="WebSocketConnectRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": int(exc.http_status), "body": str(exc.code)}
    session.connect(connection_id, principal, store)
    logger.info("connected", extra={"connection_id": connection_id, "account_id": principal.account_id})
    metrics.add_metric(name="WebSocketConnected", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}
