"""Fan matcher events from the notifications queue out to WebSocket subscribers.

One SQS batch is delivered as a whole (grouped per channel, one subscriber lookup per channel,
one post per connection where possible). Only records that could not be delivered for a reason a
retry can fix are reported back as failed (``ReportBatchItemFailures``); send failures to single
connections are counted, never retried through SQS.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.realtime import wiring
from trading.realtime.fanout import Notifier, Record
from trading.realtime.settings import NotifySettings

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


class RecordNotDeliveredError(Exception):
    """Marks a record failed so SQS delivers it again (and finally to the DLQ)."""


@cache
def _notifier() -> Notifier:
    return wiring.notifier(NotifySettings())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = [Record(str(r["messageId"]), str(r["body"])) for r in event.get("Records", [])]
    report = _notifier().deliver(records)
    for name, value in (
        ("NotifyMessages", report.messages),
        ("NotifyPostsSent", report.sent),
        ("NotifyConnectionsGone", report.gone),
        ("NotifyPostsFailed", report.failed),
        ("NotifyRecordsFailed", len(report.failed_records)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info(
        "delivered", extra={"report": {k: v for k, v in vars(report).items() if k != "failed_records"}}
    )

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in report.failed_records:
            raise RecordNotDeliveredError(record.message_id)

    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return response
