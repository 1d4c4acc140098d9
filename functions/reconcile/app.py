"""`reconcile` Lambda (hourly): ledger, balance and hold proofs on one reader snapshot.

Always emits ``ReconciliationMismatches`` (0 when clean, so the alarm has data); on any mismatch
also publishes a ``ReconciliationMismatch`` event (source ``trading.ledger``) on the trading bus.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.ledger import wiring
from trading.ledger.alerts import publish_mismatch
from trading.ledger.reconcile import reconcile_snapshot

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    connect: Callable[[], AbstractContextManager[connection]] = wiring.reader,
    events_client: Callable[[], Any] = lambda: wiring.aws_client("events"),
) -> dict[str, Any]:
    with connect() as conn:
        report = reconcile_snapshot(conn)
    metrics.add_metric(name="ReconciliationMismatches", unit=MetricUnit.Count, value=len(report.mismatches))
    if not report.ok:
        logger.error("reconciliation mismatch", extra={"mismatches": report.to_dict()["mismatches"]})
        publish_mismatch(report, wiring.settings().event_bus_name, events_client())
    else:
        logger.info("reconciled", extra={"assets": report.assets})
    return report.to_dict()
