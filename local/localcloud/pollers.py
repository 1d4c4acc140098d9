"""Event sources the way the Lambda service runs them: SQS and DynamoDB-stream pollers, schedules.

* SQS: long-poll, batches of ``BatchSize`` (at most 10 per receive), the function's result decides
  what is deleted: everything on success, everything but ``batchItemFailures`` with
  ``ReportBatchItemFailures``, nothing when the function raises (the messages come back after the
  visibility timeout; moto moves them to the DLQ on the receive after ``maxReceiveCount``).
* DynamoDB streams: one reader per shard from ``StartingPosition``; a failed batch is retried from
  the first failed record (``batchItemFailures`` item identifiers are sequence numbers) up to
  ``MAX_STREAM_RETRIES`` times, then skipped with a log line (the template's on-failure destination
  is not emulated).
* Schedules: ``rate(...)`` rules run on their period, ``cron(...)`` rules at the matching UTC
  minutes (``L``/``W``/``#`` expressions only on demand).
  :meth:`Schedules.trigger` runs any of them now (tests, ``localcloud`` users).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

from localcloud.app_model import Schedule, cron_matches, schedule_period_s
from localcloud.lambdas import FunctionError, LambdaRunner

_log = logging.getLogger(__name__)

MAX_STREAM_RETRIES = 10


def _client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region)  # type: ignore[call-overload]


class _Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def _run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stopping.is_set():
                    return
                _log.exception("%s: poll failed", self.name)
                self.stopping.wait(1.0)

    def poll_once(self) -> None:
        raise NotImplementedError


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, value in attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
    return converted


class SqsPoller(_Worker):
    def __init__(
        self,
        runner: LambdaRunner,
        function_id: str,
        *,
        queue_url: str,
        batch_size: int,
        report_failures: bool,
        endpoint: str,
        region: str,
        wait_s: int = 1,
    ) -> None:
        super().__init__(f"sqs:{function_id}")
        self.runner = runner
        self.function_id = function_id
        self.queue_url = queue_url
        self.batch_size = max(1, min(10, batch_size))
        self.report_failures = report_failures
        self.region = region
        self.wait_s = wait_s
        self._sqs = _client("sqs", endpoint, region)
        self.queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def poll_once(self) -> None:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_s,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if messages:
            self.deliver(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": _lambda_message_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": self.region,
            }
            for m in messages
        ]
        try:
            result = self.runner.invoke(self.function_id, {"Records": records})
        except FunctionError:
            return  # the whole batch becomes visible again after the visibility timeout
        failed: set[str] = set()
        if self.report_failures and isinstance(result, dict):
            failed = {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )


class StreamPoller(_Worker):
    def __init__(
        self,
        runner: LambdaRunner,
        function_id: str,
        *,
        stream_arn: str,
        batch_size: int,
        starting_position: str,
        report_failures: bool,
        endpoint: str,
        region: str,
        interval_s: float = 0.2,
    ) -> None:
        super().__init__(f"stream:{function_id}")
        self.runner = runner
        self.function_id = function_id
        self.stream_arn = stream_arn
        self.batch_size = max(1, batch_size)
        self.report_failures = report_failures
        self.interval_s = interval_s
        self._streams = _client("dynamodbstreams", endpoint, region)
        self._iterators: dict[str, str] = {}
        for shard in self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType=starting_position
            )["ShardIterator"]

    def poll_once(self) -> None:
        delivered = False
        for shard_id, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = response.get("Records", [])
            if records:
                delivered = True
                self._deliver(shard_id, records)
            self._iterators[shard_id] = response["NextShardIterator"]
        if not delivered:
            self.stopping.wait(self.interval_s)

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        pending = [{**r, "eventSourceARN": self.stream_arn} for r in records]
        for attempt in range(MAX_STREAM_RETRIES + 1):
            if not pending or self.stopping.is_set():
                return
            failed_from = self._invoke(pending)
            if failed_from is None:
                return
            pending = pending[failed_from:]
            if attempt < MAX_STREAM_RETRIES:
                self.stopping.wait(min(5.0, 0.1 * 2**attempt))
        _log.error(
            "%s: %d stream records skipped after %d retries", self.name, len(pending), MAX_STREAM_RETRIES
        )

    def _invoke(self, records: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the batch is done."""
        try:
            result = self.runner.invoke(self.function_id, {"Records": records})
        except FunctionError:
            return 0
        if not (self.report_failures and isinstance(result, dict)):
            return None
        failed = {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures") or []}
        for index, record in enumerate(records):
            if str(record["dynamodb"].get("SequenceNumber")) in failed:
                return index
        return None


def _utc_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


class Schedules:
    """Runs ``rate(...)`` schedules on their period and any schedule on demand."""

    def __init__(
        self,
        runner: LambdaRunner,
        schedules: list[Schedule],
        start_state_machine: Callable[[str, dict[str, Any]], None],
        region: str,
        account_id: str,
    ) -> None:
        self.runner = runner
        self.schedules = {s.logical_id: s for s in schedules}
        self.start_state_machine = start_state_machine
        self.region = region
        self.account_id = account_id
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for schedule in self.schedules.values():
            period = schedule_period_s(schedule.expression)
            if (
                schedule.enabled
                and period is None
                and cron_matches(schedule.expression, _utc_minute()) is not None
            ):
                thread = threading.Thread(
                    target=self._cron_loop,
                    args=(schedule,),
                    name=f"schedule:{schedule.logical_id}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
                continue
            if period is None or not schedule.enabled:
                _log.info("schedule %s (%s) runs on demand only", schedule.logical_id, schedule.expression)
                continue
            thread = threading.Thread(
                target=self._loop,
                args=(schedule, period),
                name=f"schedule:{schedule.logical_id}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(2.0)

    def _loop(self, schedule: Schedule, period: float) -> None:
        while not self._stopping.wait(period):
            with contextlib.suppress(FunctionError):
                self.trigger(schedule.logical_id)

    def _cron_loop(self, schedule: Schedule) -> None:
        """Wake at each UTC minute; run when the cron expression matches it."""
        while not self._stopping.wait(60 - time.time() % 60 + 0.05):
            if cron_matches(schedule.expression, _utc_minute()):
                with contextlib.suppress(FunctionError):
                    self.trigger(schedule.logical_id)

    def find(self, name: str) -> Schedule:
        """A schedule by rule logical id or by the logical id of a function it targets."""
        if name in self.schedules:
            return self.schedules[name]
        for schedule in self.schedules.values():
            if name in schedule.function_ids:
                return schedule
        raise KeyError(f"no schedule {name!r} in the template")

    def trigger(self, name: str) -> list[Any]:
        """Run a schedule now; returns the functions' results (raises FunctionError on failure)."""
        schedule = self.find(name)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{self.account_id}:rule/{schedule.logical_id}"],
            "detail": {},
        }
        for machine in schedule.state_machine_ids:
            self.start_state_machine(machine, event)
        results = []
        for function_id in schedule.function_ids:
            started = time.monotonic()
            results.append(self.runner.invoke(function_id, event))
            _log.info("schedule %s ran %s in %.0f ms", name, function_id, (time.monotonic() - started) * 1000)
        return results
