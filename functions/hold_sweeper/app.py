"""`hold_sweeper` Lambda (every 5 minutes): release holds whose orders ended and are fully settled,
and holds of orders that never reached ``Orders`` once the grace period has passed; orders left
PENDING past ``PENDING_TIMEOUT_SECONDS`` are rejected (``INTAKE_EXPIRED``) and then released."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.ledger import wiring
from trading.ledger.orders import OrdersLookup, sweep_holds

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    connect: Callable[[], AbstractContextManager[connection]] = wiring.writer,
    orders: Callable[[], OrdersLookup] = wiring.orders_lookup,
) -> dict[str, Any]:
    settings = wiring.settings()
    grace = timedelta(seconds=settings.hold_grace_seconds)
    pending_timeout = timedelta(seconds=settings.pending_timeout_seconds)
    with connect() as conn:
        result = sweep_holds(conn, orders(), grace=grace, pending_timeout=pending_timeout)
    metrics.add_metric(name="HoldsReleased", unit=MetricUnit.Count, value=len(result.released))
    metrics.add_metric(name="HoldsAwaitingSettlement", unit=MetricUnit.Count, value=len(result.waiting))
    metrics.add_metric(name="OrphanHoldsReleased", unit=MetricUnit.Count, value=len(result.orphaned))
    metrics.add_metric(name="PendingOrdersExpired", unit=MetricUnit.Count, value=len(result.expired))
    logger.info("swept holds", extra={"examined": result.examined, "released": result.released})
    return {
        "examined": result.examined,
        "released": result.released,
        "archived": result.archived,
        "waiting": result.waiting,
        "orphaned": result.orphaned,
        "expired": result.expired,
    }
