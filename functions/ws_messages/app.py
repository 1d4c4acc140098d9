"""WebSocket ``subscribe``, ``unsubscribe``, ``ping`` and ``$default`` routes.

Replies (``subscribed``, the book ``snapshot``, ``pong``, ``error``) are pushed through
``@connections``; the route itself always answers 200 so API Gateway keeps the connection open.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.realtime import session, wiring
from trading.realtime.settings import MessagesSettings

logger = Logger()


@cache
def _session() -> session.Session:
    return wiring.session(MessagesSettings())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id = str(session.request_context(event).get("connectionId", ""))
    body = event.get("body")
    replies = _session().handle(connection_id, body if isinstance(body, str) else None)
    logger.debug("replied", extra={"connection_id": connection_id, "types": [r["type"] for r in replies]})
    return {"statusCode": 200}
