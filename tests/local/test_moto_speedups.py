"""``localcloud.speedups``: moto answers exactly as before, without redoing per-request work."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import jsonpath_ng.ext
import moto.backends
import pytest
from localcloud.moto_cloud import install_patches
from moto.events.utils import EventTemplateParser
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Queue, sqs_backends
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

pytestmark = pytest.mark.xdist_group("localcloud")


@pytest.fixture(autouse=True)
def _patched() -> None:
    install_patches()


def test_backend_lookup_answers_as_before_and_lists_moto_once_per_host(monkeypatch) -> None:
    # Given a count of moto's directory listings, which the lookup used to do on every request
    listings = []
    original = moto.backends.list_of_moto_modules

    def counting() -> Any:
        listings.append(1)
        return original()

    monkeypatch.setattr(moto.backends, "list_of_moto_modules", counting)
    app = DomainDispatcherApplication(create_app=None)  # type: ignore[arg-type]
    host = f"sqs.us-east-1.amazonaws.com.{uuid.uuid4().hex}"  # a host no earlier lookup has seen
    # When the same hosts are looked up again and again
    answers = [app.get_backend_for_host(h) for h in [host, "dynamodb.us-east-1.amazonaws.com"] * 5]
    # Then the backends are the ones moto's URL patterns name, and a host is resolved only once
    assert answers[:2] == ["sqs", "dynamodb"] and answers == answers[:2] * 5
    assert len(listings) <= 2  # at most the first lookup of each of the two hosts


def test_jsonpath_is_parsed_once_and_still_finds_what_it_should() -> None:
    # Given an EventBridge input transformer over a trade event
    event = {"id": "e-1", "detail": {"symbol": "BTC-USD", "price": 3000050}, "ingestion-time": 1}
    template = '{"id": "<id>", "price": <price>}'
    paths = {"id": "$.id", "price": "$.detail.price"}
    # When it transforms the event twice
    first = EventTemplateParser.parse(template, paths, event)  # type: ignore[arg-type]
    second = EventTemplateParser.parse(template, paths, event)  # type: ignore[arg-type]
    # Then both are right, and each expression was parsed once and shared
    assert first == second == {"id": "e-1", "price": 3000050}
    assert jsonpath_ng.ext.parse("$.detail.price") is jsonpath_ng.ext.parse("$.detail.price")
    # And Step Functions paths still resolve, including an index into a list
    assert extract_json("$.detail.price", event) == 3000050
    assert extract_json("$.items[1]", {"items": [5, 6]}) == 6


def test_receive_stops_at_an_expired_message_without_building_queue_attributes(
    moto_endpoint, monkeypatch
) -> None:
    # Given a queue with a 60 s retention period holding a fresh message, then an expired one
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"retention-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    for n in ("fresh", "expired"):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    backend = sqs_backends["123456789012"]["us-east-1"]
    expired = next(m for m in backend.get_queue(name).messages if "expired" in m.body)
    expired.sent_timestamp = int((time.time() - 61) * 1000)
    # And a count of how often all of the queue's attributes get built
    built = []
    attributes = Queue.attributes

    def counting(self: Queue) -> dict[str, Any]:
        built.append(1)
        return attributes.fget(self)  # type: ignore[attr-defined, no-any-return]

    monkeypatch.setattr(Queue, "attributes", property(counting))
    # When the queue is read
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    # Then the fresh message is delivered and the expired one is not (moto stops at it, as it did
    # before the patch), and no attribute map was built to decide that
    assert [json.loads(m["Body"])["n"] for m in messages] == ["fresh"]
    assert built == []
