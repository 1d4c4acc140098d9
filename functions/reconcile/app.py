"""`reconcile` Lambda (hourly): the ledger's own proofs on one reader snapshot, and the ledger
against the matcher's records (``Orders``, the outbox) and the settlement DLQ (docs/ledger.md).

Always emits ``ReconciliationMismatches`` (0 when clean, so the alarm has data),
``ReconciliationOk`` (1 or 0; a missing datapoint alarms too) and ``ReconciliationCheckMismatches``
per check (dimension ``check``); on any mismatch also publishes a ``ReconciliationMismatch`` event
(source ``trading.ledger``) on the trading bus. An operator may invoke it with
``{"grace_seconds": 0}`` to verify a re-drive at once.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.ledger import wiring
from trading.ledger.alerts import publish_mismatch
from trading.ledger.crosscheck import IndependentRecords, ReconcileRequest
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
    records: Callable[[], IndependentRecords] = wiring.reconcile_records,
) -> dict[str, Any]:
    request = ReconcileRequest.model_validate(event or {})
    policy = wiring.reconcile_policy(request.grace_seconds)
    with connect() as conn:
        report = reconcile_snapshot(conn, records(), policy)
    metrics.add_metric(name="ReconciliationMismatches", unit=MetricUnit.Count, value=len(report.mismatches))
    metrics.add_metric(name="ReconciliationOk", unit=MetricUnit.Count, value=1 if report.ok else 0)
    metrics.add_metric(
        name="ReconciliationOrdersExamined", unit=MetricUnit.Count, value=report.examined.get("orders", 0)
    )
    for check, count in report.counts().items():
        with single_metric(
            name="ReconciliationCheckMismatches",
            unit=MetricUnit.Count,
            value=count,
            default_dimensions={**metrics.default_dimensions, "check": check},
        ):
            pass
    if not report.ok:
        logger.error("reconciliation mismatch", extra={"mismatches": report.to_dict()["mismatches"]})
        publish_mismatch(report, wiring.settings().event_bus_name, events_client())
    else:
        logger.info("reconciled", extra={"assets": report.assets, "examined": report.examined})
    return report.to_dict()
