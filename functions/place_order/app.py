"""`place_order` Lambda: a Powertools REST resolver over its route group in `trading.api.routes`."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.api import wiring
from trading.api.app import resolver
from trading.api.routes import place_order as routes

logger = Logger()
tracer = Tracer()
app = resolver(routes.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.idempotency().register_context(context)
    return app.resolve(event, context)
