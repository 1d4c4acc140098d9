"""WebSocket ``$disconnect``: remove the connection and every subscription it had."""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.realtime import session, wiring
from trading.realtime.settings import DisconnectSettings
from trading.realtime.store import DynamoConnectionStore

logger = Logger()


@cache
def _store() -> DynamoConnectionStore:
    return wiring.connection_store(DisconnectSettings().connections_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id = str(session.request_context(event).get("connectionId", ""))
    removed = session.disconnect(connection_id, _store())
    logger.info("disconnected", extra={"connection_id": connection_id, "items_removed": removed})
    return {"statusCode": 200}
