"""`trade_export` Lambda (daily 00:15 UTC): the previous UTC day's trades to the trade-log bucket.

Input: the scheduled event (exports the day before the event's ``time``, so a retried invocation
exports the same day) or ``{"date": "YYYY-MM-DD"}`` for a backfill. Idempotent: the objects of a
day are byte-identical on every run.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.ledger import wiring
from trading.tradelog import export_day

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def day_to_export(event: dict[str, Any]) -> date:
    if event.get("date"):
        return date.fromisoformat(str(event["date"]))
    fired = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")) if event.get("time") else None
    return ((fired or datetime.now(UTC)).astimezone(UTC) - timedelta(days=1)).date()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    connect: Callable[[], AbstractContextManager[connection]] = wiring.reader,
    s3: Callable[[], Any] = lambda: wiring.aws_client("s3"),
    bucket: Callable[[], str] = lambda: wiring.settings().trade_log_bucket,
) -> dict[str, Any]:
    day = day_to_export(event)
    with connect() as conn:
        result = export_day(conn, s3(), bucket(), day)
    metrics.add_metric(name="TradesExported", unit=MetricUnit.Count, value=sum(result.counts.values()))
    logger.info("exported trades", extra={"date": day.isoformat(), "counts": result.counts})
    return {"date": day.isoformat(), "counts": result.counts, "keys": result.keys}
