"""`order_archiver` Lambda: DynamoDB stream of ``Orders`` -> ``order_history`` + hold release.

Only terminal order images are archived (each in its own transaction, idempotent on order id).
A failed record is reported back (``ReportBatchItemFailures``) so only it is retried.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.domain.enums import OrderStatus
from trading.ledger import wiring
from trading.ledger.orders import archive_order

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _archive(record: DynamoDBRecord, connect: Callable[[], AbstractContextManager[connection]]) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("status") not in {s.value for s in OrderStatus if s.is_terminal}:
        return
    with connect() as conn:
        outcome = archive_order(conn, image)
    if outcome.archived:
        metrics.add_metric(name="OrdersArchived", unit=MetricUnit.Count, value=1)
    if not outcome.hold_closed:
        logger.info("hold kept until the order's fills settle", extra={"order_id": outcome.order_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any],
    context: LambdaContext,
    connect: Callable[[], AbstractContextManager[connection]] = wiring.writer,
) -> dict[str, Any]:
    metrics.add_metric(name="OrderStreamRecords", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    response = process_partial_response(
        event=event,
        record_handler=lambda record: _archive(record, connect),
        processor=processor,
        context=context,
    )
    return dict(response)
