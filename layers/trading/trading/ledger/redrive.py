"""Re-drive parked settlements: settlement DLQ messages back into the settlement state machine.

The state machine's Catch sends its input plus ``error`` to the settlement DLQ. After the cause is
fixed (an account created, a deployment rolled back), an operator re-drives the messages:

    python -m trading.ledger.redrive --queue-url URL --state-machine-arn ARN [--max 100] [--dry-run]

Each message starts one execution with the original input (``error`` removed) and is deleted only
after the execution started. Settlement is idempotent on trade id, so re-driving a message twice,
or one whose trades were settled meanwhile, changes nothing.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RedriveResult:
    started: list[str] = field(default_factory=list)  # execution ARNs
    skipped: list[str] = field(default_factory=list)  # message ids that were not JSON objects


def redrive(
    sqs: Any,
    sfn: Any,
    queue_url: str,
    state_machine_arn: str,
    *,
    max_messages: int = 100,
    dry_run: bool = False,
) -> RedriveResult:
    """Start one execution per DLQ message (at most ``max_messages``). A dry run lists the message
    ids it would re-drive in ``started`` and leaves the messages in the queue (they become visible
    again after the queue's visibility timeout)."""
    result = RedriveResult()
    handled = 0
    while handled < max_messages:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, max_messages - handled), WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            handled += 1
            try:
                payload = json.loads(message["Body"])
            except json.JSONDecodeError:
                payload = None
            if not isinstance(payload, dict):
                result.skipped.append(message["MessageId"])
                continue
            payload.pop("error", None)
            if dry_run:
                result.started.append(f"dry-run:{message['MessageId']}")
                continue
            execution = sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=f"redrive-{message['MessageId']}"[:80],
                input=json.dumps(payload),
            )
            result.started.append(execution["executionArn"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if dry_run:
            break
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trading.ledger.redrive", description=__doc__)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--state-machine-arn", required=True)
    parser.add_argument("--max", type=int, default=100)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    import boto3  # noqa: PLC0415 - only the command line needs it

    result = redrive(
        boto3.client("sqs"),
        boto3.client("stepfunctions"),
        args.queue_url,
        args.state_machine_arn,
        max_messages=args.max,
        dry_run=args.dry_run,
    )
    sys.stdout.write(json.dumps({"started": result.started, "skipped": result.skipped}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
