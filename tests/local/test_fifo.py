"""moto's SQS FIFO gaps and what the runtime's patches (``localcloud.fifo``) make of them.

Each test states the AWS behaviour; the runtime's moto behaves the same after the patches.
Nothing in the system relies on SQS's SequenceNumber (the matcher's per-symbol seq orders events).
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from localcloud import fifo
from localcloud.moto_cloud import install_patches

pytestmark = pytest.mark.xdist_group("localcloud")


@pytest.fixture
def sqs(moto_endpoint):
    install_patches()
    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def fifo_queue(sqs):
    url = sqs.create_queue(
        QueueName=f"q-{uuid.uuid4().hex[:12]}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "1", "DeduplicationScope": "messageGroup"},
    )["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def _send(sqs, url, body, dedup=None, group="BTC-USD"):
    return sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup or body
    )


def _receive(sqs, url, wait=0):
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
    )
    return answer.get("Messages", [])


def test_a_duplicate_sent_after_the_first_was_deleted_is_still_dropped(sqs, fifo_queue):
    # Given a message that was received and deleted
    _send(sqs, fifo_queue, "cmd-1")
    (first,) = _receive(sqs, fifo_queue)
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=first["ReceiptHandle"])
    # When the same deduplication id is sent again inside the 5-minute window
    _send(sqs, fifo_queue, "cmd-1")
    # Then, as in AWS, it is not delivered again (plain moto delivers it)
    assert _receive(sqs, fifo_queue) == []
    # And another id goes through
    _send(sqs, fifo_queue, "cmd-2")
    assert [m["Body"] for m in _receive(sqs, fifo_queue)] == ["cmd-2"]


def test_dedup_ids_are_per_group_with_message_group_scope(sqs, fifo_queue):
    # Given DeduplicationScope=messageGroup
    # When two groups use the same deduplication id
    _send(sqs, fifo_queue, "same", group="BTC-USD")
    _send(sqs, fifo_queue, "same", group="ETH-USD")
    # Then both are delivered
    assert sorted(m["Attributes"]["MessageGroupId"] for m in _receive(sqs, fifo_queue)) == [
        "BTC-USD",
        "ETH-USD",
    ]


def test_in_flight_messages_of_a_group_come_back_in_order_after_the_visibility_timeout(sqs, fifo_queue):
    # Given three messages of one group received together and never deleted (a consumer crashed)
    for body in ("m1", "m2", "m3"):
        _send(sqs, fifo_queue, body)
    assert [m["Body"] for m in _receive(sqs, fifo_queue)] == ["m1", "m2", "m3"]
    # When their visibility timeout (1 s) has run out
    again = []
    for _ in range(10):
        again = _receive(sqs, fifo_queue, wait=1)
        if again:
            break
    # Then they are redelivered in their original order (plain moto returned m3 or m2 first)
    assert [m["Body"] for m in again] == ["m1", "m2", "m3"]


def test_sequence_numbers_increase_in_send_order(sqs, fifo_queue):
    # Given messages sent one after the other
    numbers = [int(_send(sqs, fifo_queue, f"s{i}")["SequenceNumber"]) for i in range(5)]
    # Then their sequence numbers increase like AWS's (plain moto draws random digits)
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5
    assert all(len(str(n)) == 20 for n in numbers)


def test_the_dedup_window_is_five_minutes():
    assert fifo.DEDUPLICATION_WINDOW_S == 300
